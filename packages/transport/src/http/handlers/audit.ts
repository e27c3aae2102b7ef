import type { AuditFilter } from '@bulwark/core';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { auditView } from '../views.js';

/** Reading the audit log. */
export function auditHandlers(s: HttpServices): Pick<Handlers, 'listAudit'> {
  return {
    listAudit: async ({ query = {} }, ctx) => {
      const filter: AuditFilter = {};
      if (query.from) filter.from = Date.parse(query.from);
      if (query.to) filter.to = Date.parse(query.to);
      if (query.action) filter.action = query.action;
      if (query.actor) filter.actorId = query.actor;
      if (query.target) filter.targetId = query.target;
      const page = await s.audit.list(principalOf(ctx).orgId, filter, {
        limit: query.limit ?? 50,
        cursor: query.cursor ?? null,
      });
      return { items: page.items.map(auditView), nextCursor: page.nextCursor };
    },
  };
}

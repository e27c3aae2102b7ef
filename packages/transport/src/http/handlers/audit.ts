import type { AuditFilter, AuditVerdict } from '@bulwark/core';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { auditView } from '../views.js';

/** How long one walk of the chain answers `GET /audit/verification` on this node. */
export const AUDIT_VERIFY_CACHE_MS = 60_000;

/** Reading the audit log, and its chain's verification (one walk a minute at most per node). */
export function auditHandlers(
  s: HttpServices,
  clock: () => number = Date.now,
): Pick<Handlers, 'listAudit' | 'verifyAudit'> {
  let cached: { at: number; verdict: Promise<AuditVerdict> } | undefined;
  return {
    verifyAudit: async () => {
      const now = clock();
      if (cached === undefined || now - cached.at >= AUDIT_VERIFY_CACHE_MS) {
        const verdict = s.audit.verify();
        cached = { at: now, verdict };
        // A failed walk (the store down) is not remembered.
        verdict.catch(() => {
          if (cached?.verdict === verdict) cached = undefined;
        });
      }
      const { at, verdict } = cached;
      const v = await verdict;
      return v.ok
        ? {
            ok: true,
            seq: v.headSeq,
            keyedFrom: v.keyedFrom,
            reason: null,
            checkedAt: new Date(at).toISOString(),
          }
        : {
            ok: false,
            seq: v.seq,
            keyedFrom: null,
            reason: v.reason,
            checkedAt: new Date(at).toISOString(),
          };
    },
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

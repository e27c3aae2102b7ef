import type { AuditEventView, AuditQuery } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { formatTable, type Column, listJson } from '../output.js';

const joinRef = (type: string | null, id: string | null): string | null =>
  type === null ? id : id === null ? type : `${type}:${id}`;

const AUDIT_COLUMNS: Column<AuditEventView>[] = [
  { header: 'SEQ', value: (e) => e.seq },
  { header: 'TIME', value: (e) => e.at },
  { header: 'ACTOR', value: (e) => joinRef(e.actorType, e.actorId) },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => joinRef(e.targetType, e.targetId) },
  { header: 'RESULT', value: (e) => e.result },
];

/** `bulwark audit list` (`audit verify` is a local command, run by the hub package). */
export const auditCommands: Command[] = [
  {
    path: ['audit', 'list'],
    summary: "Show the organization's audit events, newest first.",
    options: {
      action: { type: 'string', value: 'A', help: 'only this action (e.g. device.create)' },
      actor: { type: 'string', value: 'ID', help: 'only events by this actor' },
      target: { type: 'string', value: 'ID', help: 'only events on this target' },
      from: { type: 'string', value: 'TIME', help: 'not before this RFC 3339 time' },
      to: { type: 'string', value: 'TIME', help: 'not after this RFC 3339 time' },
      limit: { type: 'string', value: 'N', help: 'page size (1-500, default 50)' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
      all: { type: 'boolean', help: 'follow pages until every event is listed' },
    },
    run: async (ctx) => {
      const query: AuditQuery = {};
      for (const key of ['action', 'actor', 'target', 'from', 'to'] as const) {
        const v = ctx.str(key);
        if (v !== undefined) query[key] = v;
      }
      const limit = ctx.int('limit');
      if (limit !== undefined) query.limit = limit;
      const client = ctx.client();
      if (ctx.flag('all')) {
        const items: AuditEventView[] = [];
        for await (const e of client.audit.all(query)) items.push(e);
        ctx.print(listJson(items), () => formatTable(items, AUDIT_COLUMNS));
        return;
      }
      const cursor = ctx.str('cursor');
      const page = await client.audit.list(cursor === undefined ? query : { ...query, cursor });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more =
          page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor}, or --all)\n`;
        return formatTable(page.items, AUDIT_COLUMNS) + more;
      });
    },
  },
];

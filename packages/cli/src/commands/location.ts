import type { LocationView } from '@bulwark/protocol';
import { LOCATION_KINDS } from '@bulwark/protocol/lite';
import type { Command } from '../command.js';
import { formatTable, listJson } from '../output.js';

/** The location tree as a table, names indented two spaces per level, children under parents. */
export function formatLocationTree(locations: readonly LocationView[]): string {
  const children = new Map<string | null, LocationView[]>();
  const ids = new Set(locations.map((l) => l.id));
  for (const l of locations) {
    // A location whose parent is not in the list is shown as a root rather than lost.
    const parent = l.parentId !== null && ids.has(l.parentId) ? l.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), l]);
  }
  const rows: { l: LocationView; depth: number }[] = [];
  const walk = (parent: string | null, depth: number): void => {
    for (const l of children.get(parent) ?? []) {
      rows.push({ l, depth });
      walk(l.id, depth + 1);
    }
  };
  walk(null, 0);
  return formatTable(rows, [
    { header: 'NAME', value: (r) => `${'  '.repeat(r.depth)}${r.l.name}` },
    { header: 'KIND', value: (r) => r.l.kind },
    { header: 'ID', value: (r) => r.l.id },
  ]);
}

/** `bulwark location list|create|delete`. */
export const locationCommands: Command[] = [
  {
    path: ['location', 'list'],
    summary: 'Show the location tree.',
    run: async (ctx) => {
      const locations = await ctx.client().locations.list();
      ctx.print(listJson(locations), () => formatLocationTree(locations));
    },
  },
  {
    path: ['location', 'create'],
    args: ['NAME'],
    summary: 'Add a site, building, floor or room.',
    options: {
      kind: { type: 'string', value: 'K', help: `${LOCATION_KINDS.join(', ')} (required)` },
      parent: { type: 'string', value: 'ID', help: 'the location it is in' },
    },
    run: async (ctx) => {
      const kind = ctx.choice('kind', LOCATION_KINDS);
      if (kind === undefined) throw ctx.usage('--kind is required');
      const parent = ctx.str('parent');
      const l = await ctx.client().locations.create({
        name: ctx.args[0] ?? '',
        kind,
        ...(parent === undefined ? {} : { parentId: parent }),
      });
      ctx.print(l, () => formatLocationTree([l]));
    },
  },
  {
    path: ['location', 'delete'],
    args: ['ID'],
    ids: { ID: 'location' },
    summary: 'Delete an empty location.',
    run: async (ctx) => {
      await ctx.client().locations.delete(ctx.args[0] ?? '');
      ctx.print({ deleted: ctx.args[0] }, () => `deleted location ${ctx.args[0] ?? ''}\n`);
    },
  },
];

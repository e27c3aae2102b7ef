/**
 * `bulwark firmware mark|unmark|advisories` (decision 0031): mark a release withdrawn or
 * vulnerable with a reason; the audit checks then report every device that runs it.
 */
import type { FirmwareAdvisoryView } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { formatTable, listJson, type Column } from '../output.js';

const ADVISORY_COLUMNS: Column<FirmwareAdvisoryView>[] = [
  { header: 'ARTIFACT', value: (a) => a.artifactId },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'SET', value: (a) => a.setAt },
  { header: 'REASON', value: (a) => a.reason },
];

/** `bulwark firmware mark …`. */
export const firmwareAdvisoryCommands: Command[] = [
  {
    path: ['firmware', 'mark'],
    args: ['ID'],
    summary:
      'Mark an artifact withdrawn or vulnerable, with a reason: devices running it become audit-check findings.',
    options: {
      withdrawn: { type: 'boolean', help: 'the release is withdrawn (finding: high)' },
      vulnerable: { type: 'boolean', help: 'the release is vulnerable (finding: critical)' },
      reason: { type: 'string', value: 'TEXT', help: 'why, e.g. a CVE id (required)' },
    },
    run: async (ctx) => {
      const withdrawn = ctx.flag('withdrawn');
      if (withdrawn === ctx.flag('vulnerable'))
        throw ctx.usage('give exactly one of --withdrawn and --vulnerable');
      const a = await ctx.client().firmware.setAdvisory(ctx.args[0] ?? '', {
        status: withdrawn ? 'withdrawn' : 'vulnerable',
        reason: ctx.need('reason'),
      });
      ctx.print(a, () => formatTable([a], ADVISORY_COLUMNS));
    },
  },
  {
    path: ['firmware', 'unmark'],
    args: ['ID'],
    summary: "Take an artifact's withdrawn or vulnerable mark away.",
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().firmware.clearAdvisory(id);
      ctx.print({ artifactId: id, cleared: true }, () => `advisory of ${id} cleared\n`);
    },
  },
  {
    path: ['firmware', 'advisories'],
    summary: 'List the artifacts marked withdrawn or vulnerable.',
    run: async (ctx) => {
      const items = await ctx.client().firmware.advisories();
      ctx.print(listJson(items), () => formatTable(items, ADVISORY_COLUMNS));
    },
  },
];

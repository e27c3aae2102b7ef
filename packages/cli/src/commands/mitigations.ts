/**
 * `bulwark mitigate DEVICE …`, `bulwark mitigations block|list|show|revert` and
 * `bulwark mitigations policy list|create|delete` (decision 0036).
 */
import { readFile } from 'node:fs/promises';
import type { MitigationPolicyView, MitigationView } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';
import { MITIGATION_STATES } from '@bulwark/protocol/lite';
import {
  PAGE_OPTIONS,
  buildMergePatch,
  idArg,
  parsed,
  printList,
  type JsonObject,
} from './management-args.js';

const COLUMNS: Column<MitigationView>[] = [
  { header: 'ID', value: (m) => m.id },
  { header: 'ACTION', value: (m) => m.action },
  { header: 'STATE', value: (m) => m.state },
  // A block acts on an address, not a device.
  { header: 'TARGET', value: (m) => m.deviceId ?? m.params['source'] },
  { header: 'ALERT', value: (m) => m.alertId },
  { header: 'BY', value: (m) => m.actor },
  { header: 'AT', value: (m) => m.at },
];

const POLICY_COLUMNS: Column<MitigationPolicyView>[] = [
  { header: 'ID', value: (p) => p.id },
  { header: 'NAME', value: (p) => p.name },
  { header: 'ENABLED', value: (p) => p.enabled },
  { header: 'KINDS', value: (p) => p.kinds.join(',') },
  { header: 'MIN', value: (p) => p.minSeverity },
  { header: 'ACTION', value: (p) => p.action },
  { header: 'DRY RUN', value: (p) => p.dryRun },
  { header: 'BY', value: (p) => p.createdBy },
];

/** One action as label/value lines, what it did (or would do) below. */
export function formatMitigation(m: MitigationView): string {
  return (
    formatFields([
      ['id', m.id],
      ['action', m.action],
      ['state', m.state],
      ['device', m.deviceId],
      ['source', m.deviceId === null ? m.params['source'] : null],
      ['alert', m.alertId],
      ['policy', m.policyId],
      ['by', m.actor],
      ['reason', m.reason],
      ['params', Object.keys(m.params).length ? JSON.stringify(m.params) : null],
      ['at', m.at],
      ['reverted', m.revertedAt === null ? null : `${m.revertedAt} by ${m.revertedBy}`],
      ['error', m.error],
    ]) +
    (m.summary.length === 0
      ? ''
      : `\n${m.state === 'dry_run' ? 'would do' : 'did'}:\n${m.summary.map((l) => `  ${l}\n`).join('')}`) +
    (m.previous === null ? '' : `\na revert restores: ${JSON.stringify(m.previous)}\n`)
  );
}

const ACTION_FLAGS = ['quarantine', 'release', 'revoke', 'set', 'update', 'notify'] as const;

/** The one action the flags ask for, with its parameters. */
function actionOf(ctx: Context): { action: MitigationView['action']; params?: JsonObject } {
  const given = ACTION_FLAGS.filter((f) =>
    f === 'set'
      ? ctx.strs('set').length > 0
      : f === 'update'
        ? ctx.str(f) !== undefined
        : ctx.flag(f),
  );
  if (given.length !== 1)
    throw ctx.usage(
      'give exactly one of --quarantine, --release, --revoke, --set PATH=VALUE, --update ARTIFACT, --notify',
    );
  switch (given[0]) {
    case 'set':
      return {
        action: 'set_desired',
        params: { patch: parsed(ctx, () => buildMergePatch(ctx.strs('set'))) },
      };
    case 'update':
      return {
        action: 'start_update',
        params: {
          artifactId: idArg(ctx, 'ARTIFACT', ctx.str('update') ?? '', 'bulwark firmware list'),
        },
      };
    case 'quarantine':
      return { action: 'quarantine' };
    case 'release':
      return { action: 'release' };
    case 'revoke':
      return { action: 'revoke' };
    default:
      return { action: 'notify' };
  }
}

export const mitigationCommands: Command[] = [
  {
    path: ['mitigate'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary:
      'Act on a device: quarantine, release, revoke its credentials, set desired values, start an update or notify (--dry-run: say what would be done).',
    options: {
      quarantine: { type: 'boolean', help: 'cut it off: sessions cut, channel data refused' },
      release: { type: 'boolean', help: 'let a quarantined device back' },
      revoke: {
        type: 'boolean',
        help: 'revoke every live certificate and key (not reversible)',
      },
      set: {
        type: 'string',
        multiple: true,
        value: 'PATH=VALUE',
        help: 'push a desired setting (repeatable; a revert restores the values before)',
      },
      update: { type: 'string', value: 'ARTIFACT', help: 'start an update job of this artifact' },
      notify: { type: 'boolean', help: 'raise a mitigation_notice alert' },
      'dry-run': { type: 'boolean', help: 'say exactly what would be done; change nothing' },
      reason: { type: 'string', value: 'TEXT', help: 'why (recorded and audited)' },
      alert: { type: 'string', value: 'ID', help: 'the alert this answers' },
    },
    run: async (ctx) => {
      const device = ctx.args[0] ?? '';
      const { action, params } = actionOf(ctx);
      const alert = ctx.str('alert');
      const reason = ctx.str('reason');
      const m = await ctx.client().mitigations.apply(device, {
        action,
        ...(params ? { params } : {}),
        dryRun: ctx.flag('dry-run'),
        ...(reason !== undefined ? { reason } : {}),
        ...(alert !== undefined
          ? { alertId: idArg(ctx, 'ALERT', alert, 'bulwark alerts list') }
          : {}),
      });
      ctx.print(m, () => formatMitigation(m));
    },
  },
  {
    path: ['mitigations', 'block'],
    summary:
      "Block a source address at the edge of every hub node for a while: the alert's source (--alert) or --source (--dry-run: say what would be done; revert releases it).",
    options: {
      alert: { type: 'string', value: 'ID', help: 'block the source this alert names' },
      source: { type: 'string', value: 'ADDRESS', help: 'the IPv4 or IPv6 address to block' },
      duration: {
        type: 'string',
        value: 'SECONDS',
        help: 'how long (60 to 86400; default 3600)',
      },
      'dry-run': { type: 'boolean', help: 'say exactly what would be done; change nothing' },
      reason: { type: 'string', value: 'TEXT', help: 'why (recorded and audited)' },
    },
    run: async (ctx) => {
      const alert = ctx.str('alert');
      const source = ctx.str('source');
      const duration = ctx.int('duration');
      const reason = ctx.str('reason');
      if (alert === undefined && source === undefined)
        throw ctx.usage('give --alert ID (its source is blocked) or --source ADDRESS');
      const m = await ctx.client().mitigations.blockSource({
        action: 'block_source',
        params: {
          ...(source !== undefined ? { source } : {}),
          ...(duration !== undefined ? { durationSeconds: duration } : {}),
        },
        dryRun: ctx.flag('dry-run'),
        ...(reason !== undefined ? { reason } : {}),
        ...(alert !== undefined
          ? { alertId: idArg(ctx, 'ALERT', alert, 'bulwark alerts list') }
          : {}),
      });
      ctx.print(m, () => formatMitigation(m));
    },
  },
  {
    path: ['mitigations', 'list'],
    summary: 'List mitigation actions (and dry runs), newest first.',
    options: {
      device: { type: 'string', value: 'ID', help: "only this device's" },
      alert: { type: 'string', value: 'ID', help: "only this alert's" },
      state: { type: 'string', value: 'S', help: MITIGATION_STATES.join(', ') },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const query = {
        deviceId: ctx.str('device'),
        alertId: ctx.str('alert'),
        state: ctx.choice('state', MITIGATION_STATES),
        limit: ctx.int('limit'),
      };
      const client = ctx.client();
      await printList(
        ctx,
        COLUMNS,
        (cursor) => client.mitigations.list({ ...query, cursor }),
        () => client.mitigations.all(query),
      );
    },
  },
  {
    path: ['mitigations', 'show'],
    args: ['ID'],
    summary: 'Show one mitigation action: what it did or would do, and what a revert restores.',
    run: async (ctx) => {
      const m = await ctx.client().mitigations.get(ctx.args[0] ?? '');
      ctx.print(m, () => formatMitigation(m));
    },
  },
  {
    path: ['mitigations', 'revert'],
    args: ['ID'],
    summary:
      'Undo an applied mitigation (release the quarantine or the blocked source, restore desired values, cancel the update job); a revocation cannot be undone.',
    run: async (ctx) => {
      const m = await ctx.client().mitigations.revert(ctx.args[0] ?? '');
      ctx.print(m, () => formatMitigation(m));
    },
  },
  {
    path: ['mitigations', 'policy', 'list'],
    summary: "List the organization's mitigation policies.",
    run: async (ctx) => {
      const items = await ctx.client().mitigations.policies.list();
      ctx.print(listJson(items), () => formatTable(items, POLICY_COLUMNS));
    },
  },
  {
    path: ['mitigations', 'policy', 'create'],
    summary:
      'Create a mitigation policy from a JSON file ({name, kinds, minSeverity, locationId, action, params, dryRun}); it acts with your authority.',
    options: {
      file: { type: 'string', value: 'F', help: 'the policy as JSON (- reads standard input)' },
    },
    run: async (ctx) => {
      const file = ctx.need('file');
      const text =
        file === '-'
          ? await readStdin(ctx)
          : await readFile(file, 'utf8').catch((err: Error) => {
              throw ctx.usage(`cannot read ${file}: ${err.message}`);
            });
      const body = parsed(ctx, () => JSON.parse(text) as unknown);
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw ctx.usage('the policy file holds one JSON object');
      const p = await ctx
        .client()
        .mitigations.policies.create(
          body as Parameters<ReturnType<Context['client']>['mitigations']['policies']['create']>[0],
        );
      ctx.print(p, () => `mitigation policy ${p.id} (${p.name}) created\n`);
    },
  },
  {
    path: ['mitigations', 'policy', 'delete'],
    args: ['ID'],
    summary: 'Delete a mitigation policy (its actions stay in the log).',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().mitigations.policies.delete(id);
      ctx.print({ deleted: id }, () => `mitigation policy ${id} deleted\n`);
    },
  },
];

async function readStdin(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

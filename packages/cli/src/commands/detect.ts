/**
 * `bulwark detect rules|rule|baseline` (decision 0034): the detection rules with the
 * organization's settings, tuning one, and what the hub has learned about a device — its counters,
 * its baselines, the band each rule holds it to and the rules that fired for it.
 */
import type { DetectDeviceView, DetectRuleView, UpdateDetectRuleRequest } from '@bulwark/protocol';
import { DETECT_RULE_IDS } from '@bulwark/protocol/lite';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';

type RuleId = (typeof DETECT_RULE_IDS)[number];

const dash = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));

const RULE_COLUMNS: Column<DetectRuleView>[] = [
  { header: 'RULE', value: (r) => r.id },
  { header: 'ENABLED', value: (r) => (r.settings.enabled ? 'yes' : 'no') },
  { header: 'KIND', value: (r) => r.kind },
  { header: 'SEVERITY', value: (r) => r.severity },
  { header: 'PER', value: (r) => r.per },
  { header: 'WINDOW', value: (r) => `${r.settings.windowSeconds}s` },
  { header: 'THRESHOLD', value: (r) => dash(r.settings.threshold) },
  { header: 'CHANGED', value: (r) => r.updatedAt ?? 'default' },
];

const ruleFields = (r: DetectRuleView): [string, unknown][] => {
  const row = (key: keyof DetectRuleView['settings']) => {
    const now = r.settings[key];
    const def = r.defaults[key];
    return now === def ? String(now) : `${String(now)} (default ${String(def)})`;
  };
  return [
    ['rule', r.id],
    ['kind', r.kind],
    ['severity', r.severity],
    ['metric', `${r.metric} per ${r.per}`],
    ['enabled', row('enabled')],
    ['window seconds', row('windowSeconds')],
    ['threshold', row('threshold')],
    ['k (× MAD)', row('k')],
    ['min deviation', row('minDeviation')],
    ['learning minutes', row('learningMinutes')],
    ['min lifetime fraction', row('minLifetimeFraction')],
    ['resolve after seconds', row('resolveAfterSeconds')],
    ['cool-down seconds', row('cooldownSeconds')],
    ['changed', r.updatedAt ?? 'never (defaults)'],
    ['description', r.description],
  ];
};

const band = (b: { low: number | null; high: number | null }) =>
  b.low === null && b.high === null ? '-' : `${dash(b.low)} … ${dash(b.high)}`;

const METRIC_COLUMNS: Column<DetectDeviceView['metrics'][number]>[] = [
  { header: 'RULE', value: (m) => m.ruleId },
  { header: 'METRIC', value: (m) => m.metric },
  { header: 'WINDOW', value: (m) => `${m.windowSeconds}s` },
  { header: 'NOW', value: (m) => String(m.current) },
  { header: 'BASIS', value: (m) => m.basis },
  { header: 'BAND', value: (m) => band(m.band) },
  {
    header: 'BASELINE',
    value: (m) =>
      m.knownPorts !== undefined
        ? `ports ${m.knownPorts.join(',') || 'none'}${m.baseline?.learned ? '' : ' (learning)'}`
        : m.baseline === null
          ? '-'
          : `median ${dash(m.baseline.median)}, MAD ${dash(m.baseline.mad)}, ${m.baseline.samples} windows${
              m.baseline.learned ? '' : ` (learning until ${m.baseline.learningEndsAt ?? '?'})`
            }`,
  },
];

/** A number flag (decimals allowed), else a usage error. */
function num(ctx: Context, name: string): number | undefined {
  const text = ctx.str(name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw ctx.usage(`--${name} ${text}: give a number`);
  return n;
}

/** The changes the flags ask for. */
function updateOf(ctx: Context): UpdateDetectRuleRequest {
  if (ctx.flag('enable') && ctx.flag('disable'))
    throw ctx.usage('give --enable or --disable, not both');
  const out: UpdateDetectRuleRequest = {};
  if (ctx.flag('enable')) out.enabled = true;
  if (ctx.flag('disable')) out.enabled = false;
  const set = <K extends keyof UpdateDetectRuleRequest>(k: K, v: number | undefined) => {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  };
  set('windowSeconds', ctx.int('window'));
  set('threshold', num(ctx, 'threshold'));
  set('k', num(ctx, 'k'));
  set('minDeviation', num(ctx, 'min-deviation'));
  set('learningMinutes', ctx.int('learning-minutes'));
  set('minLifetimeFraction', num(ctx, 'min-lifetime-fraction'));
  set('resolveAfterSeconds', ctx.int('resolve-after'));
  set('cooldownSeconds', ctx.int('cooldown'));
  return out;
}

/** `bulwark detect …`. */
export const detectCommands: Command[] = [
  {
    path: ['detect', 'rules'],
    summary: "Show the detection rules with the organization's settings (needs audit:read).",
    run: async (ctx) => {
      const items = await ctx.client().detect.rules();
      ctx.print(listJson(items), () => formatTable(items, RULE_COLUMNS));
    },
  },
  {
    path: ['detect', 'rule'],
    args: ['RULE'],
    summary:
      'Show one detection rule, or tune it for the organization with the flags (needs detect:manage).',
    options: {
      enable: { type: 'boolean', help: 'turn the rule on' },
      disable: { type: 'boolean', help: 'turn the rule off' },
      window: {
        type: 'string',
        value: 'SECONDS',
        help: 'counting window (10-900, whole 10 s; renewal_outside_schedule up to 604800)',
      },
      threshold: {
        type: 'string',
        value: 'N',
        help: 'fire at or above this (a baseline rule: its hard ceiling)',
      },
      k: { type: 'string', value: 'N', help: 'baseline band: median ± k·MAD' },
      'min-deviation': {
        type: 'string',
        value: 'N',
        help: 'baseline band: at least this far from the median',
      },
      'learning-minutes': {
        type: 'string',
        value: 'N',
        help: 'how long a device learns before its baseline is judged',
      },
      'min-lifetime-fraction': {
        type: 'string',
        value: 'F',
        help: "renewal_outside_schedule: a renewal before this fraction (0-1) of the certificate's lifetime fires",
      },
      'resolve-after': {
        type: 'string',
        value: 'SECONDS',
        help: 'resolve the alert once quiet this long',
      },
      cooldown: {
        type: 'string',
        value: 'SECONDS',
        help: 'stay quiet this long after a resolution',
      },
    },
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      if (!(DETECT_RULE_IDS as readonly string[]).includes(id))
        throw ctx.usage(`unknown rule ${id}: one of ${DETECT_RULE_IDS.join(', ')}`);
      const update = updateOf(ctx);
      const client = ctx.client();
      const r =
        Object.keys(update).length === 0
          ? await client.detect.rule(id as RuleId)
          : await client.detect.updateRule(id as RuleId, update);
      ctx.print(r, () => formatFields(ruleFields(r)));
    },
  },
  {
    path: ['detect', 'baseline'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary:
      "Show a device's detection counters and learned baselines on the answering hub node, the band each rule holds it to, and the rules that fired (needs audit:read).",
    run: async (ctx) => {
      const v = await ctx.client().detect.device(ctx.args[0] ?? '');
      ctx.print(v, () => {
        const head = formatFields([
          ['device', v.deviceId],
          ['group (type)', v.group],
          ['node', `${v.node}${v.tracked ? '' : ' (not seen recently: stored baselines only)'}`],
          [
            'last minute',
            Object.entries(v.counters)
              .map(([k, n]) => `${k} ${n}`)
              .join(', '),
          ],
        ]);
        const gates =
          v.gates.length === 0
            ? 'No rule has fired for it.\n'
            : v.gates
                .map(
                  (g) =>
                    `${g.ruleId}: ${g.state} since ${g.since} (last breach ${g.lastBreachAt})\n  ${JSON.stringify(g.evidence)}\n`,
                )
                .join('');
        return `${head}\n${formatTable(v.metrics, METRIC_COLUMNS)}\n${gates}`;
      });
    },
  },
];

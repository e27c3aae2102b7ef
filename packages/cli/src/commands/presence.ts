import type { DeviceEventView, PresenceView } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { formatFields, type Column } from '../output.js';
import { PAGE_OPTIONS, printList } from './management-args.js';

const SEVERITIES = ['info', 'warning', 'critical'] as const;

const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(0)} MiB`;
const used = (r: { totalBytes: number; availableBytes: number }): string =>
  `${mib(r.totalBytes - r.availableBytes)} of ${mib(r.totalBytes)} used`;

/** A device's presence and latest health metrics as label/value lines. */
export function formatPresence(p: PresenceView): string {
  const m = p.metrics;
  return formatFields([
    ['device', p.deviceId],
    ['online', p.online ? 'yes' : 'no'],
    ['since', p.since],
    ['mode', p.mode],
    ['last seen', p.lastSeenAt],
    ...(m === null
      ? [['metrics', null] as const]
      : ([
          ['metrics at', m.at],
          ['cpu', `${m.cpuPercent.toFixed(1)} %`],
          ['memory', used(m.memory)],
          ['disk', used(m.disk)],
          ['uptime', `${Math.floor(m.uptimeSeconds)} s`],
          ['network', `rx ${m.network.rxBytes} B, tx ${m.network.txBytes} B`],
          ['listening', m.listeningPorts],
          ['connections', m.connections],
        ] as const)),
  ]);
}

const EVENT_COLUMNS: Column<DeviceEventView>[] = [
  { header: 'TIME', value: (e) => e.at },
  { header: 'SEVERITY', value: (e) => e.severity },
  { header: 'KIND', value: (e) => e.kind },
  { header: 'DETAIL', value: (e) => (Object.keys(e.detail).length === 0 ? null : e.detail) },
];

const presence = (path: string[]): Command => ({
  path,
  args: ['DEVICE'],
  ids: { DEVICE: 'device' },
  summary: 'Show whether a device is online, since when, in which mode, and its latest health.',
  run: async (ctx) => {
    const p = await ctx.client().devices.presence(ctx.args[0] ?? '');
    ctx.print(p, () => formatPresence(p));
  },
});

/** `bulwark device presence|events` (and `bulwark presence`). */
export const presenceCommands: Command[] = [
  presence(['device', 'presence']),
  presence(['presence']),
  {
    path: ['device', 'events'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary: 'List the events a device reported, newest first.',
    options: {
      kind: { type: 'string', value: 'K', help: 'only events of this kind' },
      severity: { type: 'string', value: 'S', help: SEVERITIES.join(', ') },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const device = ctx.args[0] ?? '';
      const query = {
        kind: ctx.str('kind'),
        severity: ctx.choice('severity', SEVERITIES),
        limit: ctx.int('limit'),
      };
      const client = ctx.client();
      await printList(
        ctx,
        EVENT_COLUMNS,
        (cursor) => client.devices.events(device, { ...query, cursor }),
        () => client.devices.allEvents(device, query),
      );
    },
  },
];

/**
 * Parsing of `bulwark rollout create` flags into the API's request fields, and the text view of a
 * rollout's progress (bars on a terminal, plain lines otherwise). Pure: no I/O.
 */
import type { CreateRolloutRequest as Body, OperationOutput, Weekday } from '@bulwark/protocol';
import { WEEKDAYS } from '@bulwark/protocol/lite';

type Phase = NonNullable<Body['phases']>[number];
type RolloutView = OperationOutput<'getRollout'>;

/** Thrown for a flag value that does not parse; the command turns it into a usage error. */
export class ArgError extends Error {}

/**
 * A percentage like `20%` or `12.5%`, at most 100% and above 0% unless `zero` (the API's bounds,
 * checked here so the error names the flag rather than a request field).
 */
const pct = (text: string, what: string, zero = false): number => {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!m)
    throw new ArgError(`${what}: expected a percentage like 20%, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  if (n > 100 || (!zero && n === 0))
    throw new ArgError(
      `${what}: ${text} is out of range (${zero ? '0%' : 'more than 0%'} to 100%)`,
    );
  return n;
};

/** The API's bounds on counts (phase sizes, minimum devices) and on concurrency and rate. */
const MAX_COUNT = 1_000_000;
export const MAX_CONCURRENT = 10_000;
const MAX_RATE = 10_000;

/** `[NAME=]SIZE[,gate=PCT%]`, SIZE a percentage (`10%`) or a device count (`5`). */
export function parsePhase(text: string): Phase {
  const [head = '', ...opts] = text.split(',');
  const eq = head.indexOf('=');
  const name = eq >= 0 ? head.slice(0, eq) : undefined;
  const size = eq >= 0 ? head.slice(eq + 1) : head;
  const phase: Phase = size.endsWith('%')
    ? { percent: pct(size, '--phase') }
    : /^\d+$/.test(size) && Number(size) > 0 && Number(size) <= MAX_COUNT
      ? { count: Number(size) }
      : (() => {
          throw new ArgError(
            `--phase: expected 10% or a device count (1 to ${MAX_COUNT}), got ${JSON.stringify(size)}`,
          );
        })();
  if (name) phase.name = name;
  for (const o of opts) {
    if (!o.startsWith('gate=')) throw new ArgError(`--phase: unknown option ${JSON.stringify(o)}`);
    phase.successGate = pct(o.slice(5), '--phase gate', true);
  }
  return phase;
}

/** `N` or `N/min`. */
export function parseRate(text: string): number {
  const m = /^(\d+)(?:\/min)?$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > MAX_RATE)
    throw new ArgError(
      `--rate: expected N/min with N from 1 to ${MAX_RATE}, got ${JSON.stringify(text)}`,
    );
  return Number(m[1]);
}

/**
 * `PCT%[:MIN]`: pause at PCT% failures once MIN devices have finished (default 5, a rollout's;
 * an auto-upgrade policy's is 2).
 */
export function parseThreshold(
  text: string,
  defaultMin = 5,
): { percent: number; minDevices: number } {
  const [p = '', min] = text.split(':');
  const minDevices = min === undefined ? defaultMin : Number(min);
  if (!/^\d+$/.test(min ?? String(defaultMin)) || minDevices < 1 || minDevices > MAX_COUNT)
    throw new ArgError(
      `--failure-threshold: the minimum is a device count (1 to ${MAX_COUNT}), got ${JSON.stringify(min)}`,
    );
  return { percent: pct(p, '--failure-threshold'), minDevices };
}

const dayOf = (text: string): number => {
  const i = WEEKDAYS.indexOf(text.toLowerCase().slice(0, 3) as Weekday);
  if (i < 0 || text.length < 3) throw new ArgError(`--window: unknown day ${JSON.stringify(text)}`);
  return i;
};

/** `[DAYS] HH:MM-HH:MM [ZONE]`; DAYS like `Mon-Fri` or `Sat,Sun` (ranges may wrap: `Fri-Mon`). */
export function parseWindow(text: string): NonNullable<Body['window']> {
  const parts = text.trim().split(/\s+/);
  const timeAt = parts.findIndex((p) => /^\d{2}:\d{2}-\d{2}:\d{2}$/.test(p));
  if (timeAt < 0 || timeAt > 1 || parts.length > timeAt + 2)
    throw new ArgError(`--window: expected 'Mon-Fri 01:00-05:00 UTC', got ${JSON.stringify(text)}`);
  const [start = '', end = ''] = (parts[timeAt] ?? '').split('-');
  for (const t of [start, end]) {
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(t))
      throw new ArgError(`--window: ${t} is not a time of day (00:00 to 23:59)`);
  }
  const window: NonNullable<Body['window']> = { start, end, timezone: parts[timeAt + 1] ?? 'UTC' };
  if (timeAt === 1) {
    const days = new Set<Weekday>();
    for (const item of (parts[0] ?? '').split(',')) {
      const [a = '', b] = item.split('-');
      const from = dayOf(a);
      const to = b === undefined ? from : dayOf(b);
      for (let i = 0; i < 7; i++) {
        const d = (from + i) % 7;
        days.add(WEEKDAYS[d] as Weekday);
        if (d === to) break;
      }
    }
    window.days = WEEKDAYS.filter((d) => days.has(d));
  }
  return window;
}

const bar = (done: number, total: number, width = 24): string => {
  const n = total <= 0 ? 0 : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
};

/** The lines of `rollout status`: with progress bars for a terminal, plain otherwise. */
export function renderRollout(r: RolloutView, tty: boolean): string[] {
  const p = r.progress;
  const lines = [
    `rollout ${r.id}  ${r.name}  ${r.state}${r.pauseReason ? ` (${r.pauseReason})` : ''}`,
  ];
  if (!p) return lines;
  const done = Math.round((p.percentDone / 100) * p.total);
  const counts =
    `succeeded ${p.succeeded}  failed ${p.failed}  in flight ${p.inFlight}  ` +
    `canceled ${p.canceled}${p.cancelRequested > 0 ? `  cancel requested ${p.cancelRequested}` : ''}  already current ${p.current}`;
  lines.push(
    tty
      ? `overall   ${bar(done, p.total)} ${p.percentDone.toFixed(1)}%  ${done}/${p.total} done`
      : `overall: ${p.percentDone.toFixed(1)}% done (${done}/${p.total})`,
  );
  lines.push(tty ? `          ${counts}` : `counts: ${counts}`);
  const states = Object.entries(p.states).map(([k, v]) => `${k}=${v}`);
  if (states.length > 0) lines.push(`jobs: ${states.join(' ')}`);
  let prev = 0;
  for (const ph of p.phases) {
    const size = ph.limit - prev;
    prev = ph.limit;
    const label = `phase ${ph.index + 1}${ph.name ? ` ${ph.name}` : ''}`;
    const figures = `${ph.started}/${size} started, ${ph.succeeded} succeeded, ${ph.failed} failed`;
    lines.push(
      tty
        ? `${label.padEnd(10)}${bar(ph.succeeded + ph.failed, size)} ${figures}  ${ph.state}`
        : `${label}: ${figures}, ${ph.state}`,
    );
  }
  if (!p.windowOpen) lines.push('maintenance window: closed');
  if (p.nextEligibleAt) lines.push(`next start: ${p.nextEligibleAt}`);
  return lines;
}

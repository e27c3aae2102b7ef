/**
 * Maintenance windows of rollouts: on the given weekdays (all when omitted), from `start` to `end`
 * local time in `timezone` (UTC or an IANA zone, resolved by Intl). A window whose end is not after
 * its start runs across midnight and belongs to the day it starts on: `fri 22:00-04:00` is open
 * from Friday 22:00 to Saturday 04:00.
 */
import { BulwarkError, WEEKDAYS, type RolloutWindow, type Weekday } from '@bulwark/protocol';

const MINUTE = 60_000;
/** The search for the next opening looks this far ahead (a window opens at least once a week). */
const LOOKAHEAD_HOURS = 8 * 24;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** Refuses a window with an unknown time zone or an empty span (`rollout_window_invalid`). */
export function validateWindow(w: RolloutWindow): void {
  try {
    formatter(w.timezone);
  } catch {
    throw new BulwarkError('rollout_window_invalid', `unknown time zone ${w.timezone}`);
  }
  if (w.start === w.end)
    throw new BulwarkError('rollout_window_invalid', 'the window starts and ends at the same time');
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** The local weekday and minute of the day of `at` in the zone. */
function localTime(at: number, timezone: string): { day: number; minute: number } {
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of formatter(timezone).formatToParts(new Date(at))) {
    if (p.type === 'weekday') day = WEEKDAYS.indexOf(p.value.toLowerCase() as Weekday);
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** Is the window open at `at` (epoch ms)? No window: always. */
export function windowOpen(w: RolloutWindow | null, at: number): boolean {
  if (w === null) return true;
  const days = w.days ?? WEEKDAYS;
  const on = (d: number) => days.includes(WEEKDAYS[(d + 7) % 7] as Weekday);
  const { day, minute } = localTime(at, w.timezone);
  const start = minutesOf(w.start);
  const end = minutesOf(w.end);
  if (start < end) return on(day) && minute >= start && minute < end;
  // Across midnight: the evening part of today's window, or the morning part of yesterday's.
  return (on(day) && minute >= start) || (on(day - 1) && minute < end);
}

/**
 * The first minute at or after `at` when the window is open, or null if it does not open within
 * eight days (it always does; the bound keeps the search finite). Steps by hours, then minutes.
 */
export function nextWindowOpen(w: RolloutWindow | null, at: number): number | null {
  if (windowOpen(w, at)) return at;
  const t0 = Math.floor(at / MINUTE) * MINUTE;
  for (let h = 1; h <= LOOKAHEAD_HOURS; h++) {
    const t = t0 + h * 60 * MINUTE;
    if (!windowOpen(w, t)) continue;
    for (let m = 59; m >= 0; m--) {
      const early = t - m * MINUTE;
      if (early > at && windowOpen(w, early)) return early;
    }
    return t;
  }
  return null;
}

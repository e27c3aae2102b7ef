/**
 * An update job's history stays bounded (decision 0015). Every message a device sends about a job
 * is kept — a DDI feedback's `details`, an MQTT status with a reason or message — because the one
 * line that explains a failure ("Verifying signature failed") may come in any of them. A chatty
 * client (SWUpdate flushes up to 48 log lines per feedback, as often as it likes) must not grow a
 * row without end, so past `MAX_UPDATE_JOB_HISTORY` entries the oldest device messages are
 * dropped first, and one `truncated` note says how many went. Changes of state and cancel events
 * are dropped only when there is nothing else left to drop.
 */
import type { UpdateJobHistoryEntry } from '../ports/updates.js';

/** The most entries one job keeps (a few KiB of JSON each at worst: 2,000-character messages). */
export const MAX_UPDATE_JOB_HISTORY = 200;
/** The entries kept at the start whatever happens: the job's first steps (queued, delivered …). */
const KEEP_HEAD = 5;

/** `history` with `entries` appended, cut back to `max` entries with a note when it overflows. */
export function appendUpdateJobHistory(
  history: readonly UpdateJobHistoryEntry[],
  entries: readonly UpdateJobHistoryEntry[],
  max: number = MAX_UPDATE_JOB_HISTORY,
): UpdateJobHistoryEntry[] {
  const all = [...history, ...entries];
  if (all.length <= max) return all;
  // The head, one note and at least the newest entry.
  const keepHead = Math.min(KEEP_HEAD, Math.max(0, max - 2));
  const head = all.slice(0, keepHead);
  let rest = all.slice(keepHead);
  let dropped = 0;
  const note = rest[0];
  if (note?.event === 'truncated') {
    dropped = note.dropped ?? 0;
    rest = rest.slice(1);
  }
  // Room for the tail: the head, one note, the rest.
  let excess = rest.length - (max - keepHead - 1);
  let lastDropped: UpdateJobHistoryEntry | undefined;
  // Oldest device messages first …
  const keep = rest.map(() => true);
  for (let i = 0; i < rest.length && excess > 0; i++) {
    if (rest[i]?.event !== 'feedback') continue;
    keep[i] = false;
    lastDropped = rest[i];
    excess--;
    dropped++;
  }
  // … then, only if that was not enough, the oldest of anything else.
  for (let i = 0; i < rest.length && excess > 0; i++) {
    if (!keep[i]) continue;
    keep[i] = false;
    lastDropped = rest[i];
    excess--;
    dropped++;
  }
  const tail = rest.filter((_, i) => keep[i]);
  const prev = head[head.length - 1];
  const marker: UpdateJobHistoryEntry = {
    // A note changes no state: it carries the state of the entry before it.
    state: prev?.state ?? lastDropped?.state ?? 'queued',
    at: lastDropped?.at ?? note?.at ?? prev?.at ?? 0,
    event: 'truncated',
    dropped,
    message: `${dropped} older ${dropped === 1 ? 'entry was' : 'entries were'} dropped (a job keeps at most ${max})`,
  };
  return [...head, marker, ...tail];
}

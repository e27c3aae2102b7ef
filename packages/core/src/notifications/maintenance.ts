/**
 * Maintenance windows (decision 0030, amendment): which window, if any, holds back a delivery of an
 * alert now. A window covers an alert when it is running (`startsAt <= now < endsAt`), its kinds
 * are empty or name the alert's kind, and it is organization-wide or its location is on the path
 * of the alert's device (a location window never covers an alert about no device).
 */
import type { MaintenanceWindowRecord } from '../ports/notifications.js';

/** The marker a held delivery's `lastError` starts with (what the API shows, and the worker reads). */
export const WINDOW_HOLD = 'held back: maintenance window';

/**
 * A held delivery is looked at again at least this often, so deleting a window (or a new one
 * ending later) takes effect within a minute rather than at the old end.
 */
export const WINDOW_RECHECK_MS = 60_000;

/** Whether `w` covers an alert of `kind` whose device sits at `path` (its location, then up). */
export function windowCovers(
  w: MaintenanceWindowRecord,
  alert: { kind: string; deviceId: string | null },
  path: readonly string[],
  now: number,
): boolean {
  if (now < w.startsAt || now >= w.endsAt) return false;
  if (w.kinds.length > 0 && !w.kinds.includes(alert.kind)) return false;
  if (w.locationId === null) return true;
  return alert.deviceId !== null && path.includes(w.locationId);
}

/**
 * Among `windows`, the covering one that ends last (holding until then covers every overlapping
 * window), or undefined when none covers the alert now.
 */
export function coveringWindow(
  windows: readonly MaintenanceWindowRecord[],
  alert: { kind: string; deviceId: string | null },
  path: readonly string[],
  now: number,
): MaintenanceWindowRecord | undefined {
  let best: MaintenanceWindowRecord | undefined;
  for (const w of windows)
    if (windowCovers(w, alert, path, now) && (best === undefined || w.endsAt > best.endsAt))
      best = w;
  return best;
}

/** When a held delivery is looked at again: the window's end, or sooner (WINDOW_RECHECK_MS). */
export const heldUntil = (w: MaintenanceWindowRecord, now: number): number =>
  Math.min(w.endsAt, now + WINDOW_RECHECK_MS);

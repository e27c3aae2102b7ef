/**
 * One credential used from two places at once. A device's sessions belong to the device, so a
 * second connection with the same certificate or key takes the first one over; a device that
 * merely reconnects does that once, while a cloned credential fights: the two copies keep taking
 * each other over from different addresses. This watcher counts take-overs per device in a window
 * and opens one `credential_conflict` alert when they come from more than one source — and a
 * take-over never counts as the device going offline (presence stays with the new session).
 */
import type { Clock } from '../ports/clock.js';
import type { DomainEvents, StopListening } from '../ports/events.js';
import type { AlertService } from '../alerts/alert-service.js';

/** When take-overs become a conflict. */
export interface ConflictRule {
  /** Take-overs of one device within the window that raise the alert. */
  takeovers: number;
  windowMs: number;
}

/** Three take-overs in a minute from two or more addresses: no honest reconnect loop does that. */
export const DEFAULT_CONFLICT_RULE: ConflictRule = { takeovers: 3, windowMs: 60_000 };

/** Devices tracked at once (the oldest are forgotten first). */
const MAX_TRACKED = 10_000;

/** Watches `device.session_taken_over` events and opens `credential_conflict` alerts. */
export function watchCredentialConflicts(d: {
  events: DomainEvents;
  alerts: Pick<AlertService, 'open'>;
  clock: Clock;
  rule?: ConflictRule;
  onError?: (err: unknown) => void;
}): StopListening {
  const rule = d.rule ?? DEFAULT_CONFLICT_RULE;
  const seen = new Map<string, { at: number; sources: string[] }[]>();
  return d.events.listen((e) => {
    if (e.type !== 'device.session_taken_over') return;
    // Take-overs from every node count (the store keeps one open alert per device and kind).
    const key = `${e.orgId}:${e.deviceId}`;
    const now = d.clock.now();
    const recent = (seen.get(key) ?? []).filter((x) => now - x.at < rule.windowMs);
    recent.push({ at: now, sources: [e.previousSource, e.source] });
    seen.delete(key);
    if (seen.size >= MAX_TRACKED) seen.delete(seen.keys().next().value!);
    seen.set(key, recent);
    const sources = new Set(recent.flatMap((x) => x.sources));
    if (recent.length < rule.takeovers || sources.size < 2) return;
    seen.delete(key);
    d.alerts
      .open(e.orgId, e.deviceId, 'credential_conflict', {
        takeovers: recent.length,
        windowSeconds: rule.windowMs / 1000,
        sources: [...sources].slice(0, 10),
      })
      .catch((err: unknown) => d.onError?.(err));
  });
}

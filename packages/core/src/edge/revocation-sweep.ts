/**
 * The safety net behind the events port: every couple of seconds a node reads the revocations
 * made anywhere (certificates and device keys, from the shared store) and applies to its own live
 * sessions the ones its events did not bring — a node cut off from NATS for a while still cuts a
 * revoked credential within seconds of coming back. Each revocation is applied once.
 */
import type { Clock } from '../ports/clock.js';
import type { DomainEvent, DomainEvents, StopListening } from '../ports/events.js';
import type { Storage } from '../ports/storage.js';

/** How far back each sweep looks, for clock skew between nodes. */
const SKEW_MS = 60_000;
const PAGE = 1000;

/** The running sweep. */
export interface RevocationSweep {
  /** One sweep now. */
  sweep(): Promise<void>;
  stop: StopListening;
}

/** Starts remembering what the events delivered; `sweep()` applies what they did not. */
export function createRevocationSweep(d: {
  storage: Pick<Storage, 'pki' | 'deviceKeys'>;
  events: DomainEvents;
  clock: Clock;
  /** Applies a revocation to this node's sessions (AccessEnforcer.apply). */
  apply(e: DomainEvent): void;
}): RevocationSweep {
  const handled = new Map<string, number>();
  let since = d.clock.now() - SKEW_MS;
  const handle = (id: string, at: number | null, e: DomainEvent) => {
    if (handled.has(id)) return;
    handled.set(id, at ?? d.clock.now());
    since = Math.max(since, at ?? since);
    d.apply(e);
  };
  const stop = d.events.listen((e) => {
    // What the events already delivered is not applied twice.
    if (e.type === 'certificate.revoked') handled.set(`cert:${e.serial}`, e.at);
    if (e.type === 'device_key.revoked') handled.set(`key:${e.keyId}`, e.at);
  });
  /** Pages through revocations after `from` (oldest first), handling each new one. */
  const drain = async <R extends { revokedAt: number | null }>(
    list: (since: number, limit: number) => Promise<R[]>,
    apply: (r: R) => void,
    from: number,
  ) => {
    for (let page = 0; page < 100; page++) {
      const rows = await list(from, PAGE);
      for (const r of rows) apply(r);
      const last = rows.at(-1)?.revokedAt ?? null;
      if (rows.length < PAGE || last === null || last <= from) return;
      from = last;
    }
  };
  return {
    stop,
    async sweep() {
      const from = since - SKEW_MS;
      await drain(
        (t, n) => d.storage.pki.listRevokedSince(t, n),
        (c) =>
          handle(`cert:${c.serial}`, c.revokedAt, {
            type: 'certificate.revoked',
            orgId: c.orgId,
            at: c.revokedAt ?? d.clock.now(),
            deviceId: c.deviceId,
            serial: c.serial,
            reason: c.revocationReason,
          }),
        from,
      );
      await drain(
        (t, n) => d.storage.deviceKeys.listRevokedSince(t, n),
        (k) =>
          handle(`key:${k.id}`, k.revokedAt, {
            type: 'device_key.revoked',
            orgId: k.orgId,
            at: k.revokedAt ?? d.clock.now(),
            deviceId: k.deviceId,
            keyId: k.id,
          }),
        from,
      );
      for (const [id, at] of handled) if (at < from) handled.delete(id);
    },
  };
}

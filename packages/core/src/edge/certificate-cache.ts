/**
 * The certificate check of admission, remembered between the access changes that could change
 * its answer (decision 0022): a device that reconnects — a flapping link, a retry in a storm, a
 * second transport — is admitted without three database reads, and a thousand devices connecting
 * at once do not queue on the database's connection pool for the same org's CA row.
 *
 * An answer is forgotten at once on every event that could change it — the device's certificate
 * issued, renewed or revoked, the device's state changed — wherever in the cluster it happened
 * (the events port), and by the revocation sweep for an event this node missed (`forget`). Every
 * answer also expires after `ttlMs`, the bound for a change whose event was lost outright. On a
 * hit, what depends on the clock alone (validity, the end of a renewal overlap) is checked again.
 * Concurrent checks of one certificate share one lookup. Refusals are never cached.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvent, DomainEvents, StopListening } from '../ports/events.js';
import type { CertificateRecord, Device } from '../ports/records.js';
import { sha256Hex } from '../shared/hash.js';
import { assertNotRetired } from '../pki/lineage.js';
import type { AdmissionDeps } from './admission.js';

type Checked = { device: Device; cert: CertificateRecord };
type Certificates = AdmissionDeps['certificates'];

/** Bounds of the cache. */
export interface CertificateCacheConfig {
  /** How long an answer is trusted without an event; the bound for a lost event. */
  ttlMs: number;
  /** Entries kept (oldest dropped first). */
  max: number;
}

/** 30 s: a lost event is covered within the revocation sweep's reach; ~10,000 devices × ~2 KB. */
export const DEFAULT_CERTIFICATE_CACHE: CertificateCacheConfig = { ttlMs: 30_000, max: 20_000 };

/** The cached certificate check, its invalidation, and its size (for metrics and tests). */
export interface CertificateCache extends Certificates {
  /** Forgets what an access change concerns (the revocation sweep's missed events). */
  forget(e: DomainEvent): void;
  size(): number;
  stop: StopListening;
}

/** Wraps `PkiService.authenticateDevice` with the cache above. */
export function cacheCertificateChecks(
  inner: Certificates,
  d: { events: DomainEvents; clock: Clock; config?: CertificateCacheConfig },
): CertificateCache {
  const cfg = d.config ?? DEFAULT_CERTIFICATE_CACHE;
  const entries = new Map<string, { r: Checked; at: number }>();
  const byDevice = new Map<string, Set<string>>();
  const inflight = new Map<string, { p: Promise<Checked>; gen: number }>();
  /** Bumped on every invalidation: a lookup that started before one is not stored. */
  let generation = 0;
  const deviceKey = (orgId: string, deviceId: string) => `${orgId}/${deviceId}`;

  const drop = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    const dk = deviceKey(e.r.cert.orgId, e.r.device.id);
    byDevice.get(dk)?.delete(key);
    if (byDevice.get(dk)?.size === 0) byDevice.delete(dk);
  };
  const forgetDevice = (orgId: string, deviceId: string) => {
    generation++;
    for (const key of byDevice.get(deviceKey(orgId, deviceId)) ?? []) entries.delete(key);
    byDevice.delete(deviceKey(orgId, deviceId));
  };
  const forget = (e: DomainEvent) => {
    switch (e.type) {
      case 'certificate.issued':
      case 'certificate.renewed':
      case 'certificate.revoked':
      case 'device.state_changed':
        forgetDevice(e.orgId, e.deviceId);
    }
  };
  const store = (key: string, r: Checked, at: number) => {
    if (entries.size >= cfg.max) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) drop(oldest);
    }
    entries.set(key, { r, at });
    const dk = deviceKey(r.cert.orgId, r.device.id);
    let set = byDevice.get(dk);
    if (!set) byDevice.set(dk, (set = new Set()));
    set.add(key);
  };

  const stop = d.events.listen(forget);
  return {
    forget,
    size: () => entries.size,
    stop,
    async authenticateDevice(claimedOrgId, der) {
      const key = `${claimedOrgId}|${sha256Hex(der)}`;
      const now = d.clock.now();
      const hit = entries.get(key);
      if (hit && now - hit.at < cfg.ttlMs) {
        const c = hit.r.cert;
        // What only the clock changes is checked again; the rest would have come as an event.
        if (now < c.notBefore || now > c.notAfter)
          throw new BulwarkError('certificate_expired', 'the certificate is outside its validity');
        assertNotRetired(c, now);
        return hit.r;
      }
      if (hit) drop(key);
      // Joined only when no access change came since it started.
      const pending = inflight.get(key);
      if (pending && pending.gen === generation) return pending.p;
      const gen = generation;
      const p = inner.authenticateDevice(claimedOrgId, der).then(
        (r) => {
          if (inflight.get(key)?.p === p) inflight.delete(key);
          if (gen === generation) store(key, r, now);
          return r;
        },
        (err: unknown) => {
          if (inflight.get(key)?.p === p) inflight.delete(key);
          throw err;
        },
      );
      inflight.set(key, { p, gen });
      return p;
    },
  };
}

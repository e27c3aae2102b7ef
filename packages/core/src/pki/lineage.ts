/**
 * Certificate lineage (issue 11, decision 0016). A renewal is authenticated by the device's
 * current certificate and *supersedes* it: the old one stays valid for an overlap (so the device
 * can switch), is then refused, and is revoked as `superseded`. Each certificate is renewed at
 * most once, so a device's certificates form chains: enrollment → renewal → renewal …
 *
 * A stolen key renewed by the thief starts such a chain. Revoking the stolen serial therefore
 * revokes everything renewed from it, transitively — otherwise what the thief minted would
 * outlive the revocation.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { CertificateRecord } from '../ports/records.js';

const DAY_MS = 86_400_000;

/** The certificates renewed from `serial`, directly or through others, oldest generation first. */
export function descendantsOf(
  certs: readonly CertificateRecord[],
  serial: string,
): CertificateRecord[] {
  const children = new Map<string, CertificateRecord[]>();
  for (const c of certs) {
    if (c.renewedFrom === null) continue;
    const list = children.get(c.renewedFrom) ?? [];
    list.push(c);
    children.set(c.renewedFrom, list);
  }
  const out: CertificateRecord[] = [];
  const seen = new Set([serial]);
  const queue = [serial];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const c of children.get(at) ?? []) {
      if (seen.has(c.serial)) continue; // renewal cannot make a cycle; never loop on a bad row
      seen.add(c.serial);
      out.push(c);
      queue.push(c.serial);
    }
  }
  return out;
}

/** Refuses a certificate whose overlap after renewal has ended (checked at every authentication). */
export function assertNotRetired(cert: CertificateRecord, now: number): void {
  if (cert.retireAt !== null && now >= cert.retireAt) {
    throw new BulwarkError(
      'certificate_superseded',
      `the certificate was renewed (its successor is ${cert.supersededBy ?? 'unknown'}) and its overlap ended at ${new Date(cert.retireAt).toISOString()}`,
    );
  }
}

/** The window the renewal rate limit counts over. */
export const RENEWAL_WINDOW_MS = DAY_MS;

/**
 * The refusal for a device at its renewal limit: `retryAfter` is when enough of its renewals in
 * the last 24 hours will have left the window.
 */
export function renewalRateLimited(
  certs: readonly CertificateRecord[],
  limit: number,
  now: number,
): BulwarkError {
  const since = now - RENEWAL_WINDOW_MS;
  const times = certs
    .filter((c) => c.renewedFrom !== null && c.createdAt > since)
    .map((c) => c.createdAt)
    .sort((a, b) => a - b);
  const freeing = times[Math.max(0, times.length - limit)] ?? now;
  const retryAfter = Math.max(1, Math.ceil((freeing + RENEWAL_WINDOW_MS - now) / 1000));
  return new BulwarkError(
    'certificate_renewal_rate_limited',
    `the device renewed its certificate ${times.length} times in the last 24 hours (at most ${limit})`,
    { extra: { retryAfter, limit } },
  );
}

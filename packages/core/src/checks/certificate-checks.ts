/**
 * Certificate checks (decision 0031): device certificates expiring soon or older than the policy
 * age, one key certified for several devices, and the organization's CAs near expiry.
 */
import type { CertificateRecord } from '../ports/records.js';
import type { OrgSnapshot } from './snapshot.js';
import { DAY_MS, day, deviceName, type AuditCheckConfig, type FindingDraft } from './types.js';

/** Neither revoked nor superseded by a renewal: the certificate the device is meant to use. */
const current = (c: CertificateRecord) => c.revokedAt === null && c.supersededBy === null;

const inDays = (ms: number) => Math.floor(ms / DAY_MS);

/** Device certificates expiring within the window (or expired, and not replaced). */
export function expiringCertificates(
  s: OrgSnapshot,
  now: number,
  cfg: AuditCheckConfig,
): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    const live = (s.certificates.get(d.id) ?? []).filter(current);
    // The device's longest-lived current certificate: an older one beside a fresh
    // re-enrollment is no risk to the device's connection.
    const best = live.reduce<CertificateRecord | undefined>(
      (a, c) => (a === undefined || c.notAfter > a.notAfter ? c : a),
      undefined,
    );
    if (best === undefined || best.notAfter - now > cfg.certExpiryDays * DAY_MS) continue;
    const left = best.notAfter - now;
    const expired = left <= 0;
    out.push({
      checkId: 'certificate.expiring',
      key: `certificate:${best.serial}`,
      severity: expired || left <= 7 * DAY_MS ? 'high' : 'medium',
      message: expired
        ? `Certificate ${best.serial} of device ${deviceName(d)} expired on ${day(best.notAfter)} and has no successor: the device cannot connect until it is re-enrolled`
        : `Certificate ${best.serial} of device ${deviceName(d)} expires on ${day(best.notAfter)} (in ${inDays(left)} days) and has not been renewed`,
      resources: [
        { type: 'device', id: d.id },
        { type: 'certificate', id: best.serial },
      ],
    });
  }
  return out;
}

/** Current device certificates issued longer ago than the policy age. */
export function oldCertificates(
  s: OrgSnapshot,
  now: number,
  cfg: AuditCheckConfig,
): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    for (const c of (s.certificates.get(d.id) ?? []).filter(current)) {
      if (c.notAfter <= now || now - c.notBefore <= cfg.certMaxAgeDays * DAY_MS) continue;
      out.push({
        checkId: 'certificate.old',
        key: `certificate:${c.serial}`,
        severity: 'medium',
        message: `Certificate ${c.serial} of device ${deviceName(d)} was issued on ${day(c.notBefore)}, ${inDays(now - c.notBefore)} days ago, longer than the policy age of ${cfg.certMaxAgeDays} days; renew it`,
        resources: [
          { type: 'device', id: d.id },
          { type: 'certificate', id: c.serial },
        ],
      });
    }
  }
  return out;
}

/**
 * One key (or one certificate) live on several devices: whoever holds it can act as each of
 * them. Enrollment refuses a key certified for another device; this catches what got around it
 * (imports, an earlier hub, a database edit).
 */
export function sharedCertificates(s: OrgSnapshot, now: number): FindingDraft[] {
  const byKey = new Map<string, { deviceId: string; serial: string }[]>();
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    for (const c of s.certificates.get(d.id) ?? []) {
      if (c.revokedAt !== null || c.notAfter <= now) continue;
      for (const k of [`spki:${c.spkiSha256}`, `fingerprint:${c.fingerprint}`]) {
        byKey.set(k, [...(byKey.get(k) ?? []), { deviceId: d.id, serial: c.serial }]);
      }
    }
  }
  const out: FindingDraft[] = [];
  const reported = new Set<string>();
  for (const [key, certs] of byKey) {
    const devices = [...new Set(certs.map((c) => c.deviceId))].sort();
    if (devices.length < 2) continue;
    // A shared certificate also shares its key: report the key once.
    const group = devices.join(',');
    if (reported.has(group)) continue;
    reported.add(group);
    const serials = [...new Set(certs.map((c) => c.serial))].sort();
    const what = key.startsWith('spki:') ? 'public key' : 'certificate';
    out.push({
      checkId: 'certificate.shared',
      key,
      severity: 'critical',
      message: `One ${what} (${key.slice(key.indexOf(':') + 1, key.indexOf(':') + 17)}…) is live on ${devices.length} devices (${devices.join(', ')}; certificates ${serials.join(', ')}): whoever holds its private key can act as each of them; revoke them and re-enroll each device with its own key`,
      resources: [
        ...devices.map((id) => ({ type: 'device', id })),
        ...serials.map((id) => ({ type: 'certificate', id })),
      ],
    });
  }
  return out;
}

/** The organization's root and issuing CA near (or past) expiry. */
export function expiringCas(s: OrgSnapshot, now: number, cfg: AuditCheckConfig): FindingDraft[] {
  return s.cas
    .filter((ca) => ca.notAfter - now <= cfg.caExpiryDays * DAY_MS)
    .map((ca) => {
      const left = ca.notAfter - now;
      return {
        checkId: 'organization.ca_expiring' as const,
        key: `ca:${ca.role}`,
        severity: left <= 0 ? ('critical' as const) : ('high' as const),
        message:
          left <= 0
            ? `The organization's ${ca.role} CA (serial ${ca.serial}) expired on ${day(ca.notAfter)}: certificates it issued no longer verify`
            : `The organization's ${ca.role} CA (serial ${ca.serial}) expires on ${day(ca.notAfter)} (in ${inDays(left)} days); plan its rotation`,
        resources: [
          { type: 'organization', id: s.orgId },
          { type: 'ca', id: ca.serial },
        ],
      };
    });
}

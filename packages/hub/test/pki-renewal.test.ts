/**
 * Certificate renewal (issue 11, decision 0016): a renewal supersedes the certificate it was
 * authenticated with (valid for the overlap, then refused and revoked as `superseded`), renews
 * once, is rate-limited per device; revoking a certificate revokes what was renewed from it, and
 * "revoke all" revokes every certificate of a device — so a thief who renewed a stolen key keeps
 * nothing once the stolen serial is revoked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateRecord } from '@bulwark/core';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

const OVERLAP_MS = 3600_000; // the hub's default --cert-overlap-seconds
const PER_DAY = 4; // the hub's default --cert-renewals-per-day

interface Held {
  serial: string;
  cert: string;
  key: string;
}

describe('certificate renewal supersedes, is limited, and revocation follows the lineage', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const tmp = mkdtempSync(join(tmpdir(), 'bulwark-renewal-'));
  const revokedSignals: CertificateRecord[] = [];

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    t.hub.services.pki.on('certificate-revoked', (c) => revokedSignals.push(c));
  });
  after(async () => {
    await t.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function enrolled(name: string): Promise<{ deviceId: string; first: Held }> {
    const device = await s.api.devices.create({ name, type: 'rpi4' });
    const { token } = await s.api.devices.createEnrollmentToken(device.id, {});
    const k = await generateDeviceKeyAndCsr();
    const issued = await t.client().enroll({ token, csr: k.csrPem });
    return {
      deviceId: device.id,
      first: { serial: issued.serial, cert: issued.certificate, key: k.keyPem },
    };
  }
  /** Renews as the holder of `h` with a new key (or the given CSR and key). */
  async function renew(h: Held, k?: { csrPem: string; keyPem: string }): Promise<Held> {
    const fresh = k ?? (await generateDeviceKeyAndCsr());
    const asDevice = t.client(undefined, { cert: h.cert, key: h.key });
    const r = await asDevice.call('renewCertificate', { body: { csr: fresh.csrPem } });
    return { serial: r.serial, cert: r.certificate, key: fresh.keyPem };
  }
  /** A request authenticated by the certificate alone (the firmware root: none is set → 409). */
  async function authenticates(h: Held): Promise<string> {
    const res = await t.fetchWith({ cert: h.cert, key: h.key })(`${t.url}/api/v1/firmware/root`);
    const body = (await res.json()) as { code: string };
    return body.code;
  }
  const certOf = async (deviceId: string, serial: string) =>
    (await s.api.devices.certificates(deviceId)).find((c) => c.serial === serial);

  it('a renewal supersedes the certificate it was authenticated with: valid for the overlap, then refused, then revoked as superseded and in the CRL', async () => {
    const { deviceId, first } = await enrolled('supersede-1');
    const start = t.clock.t;
    const second = await renew(first);
    const old = await certOf(deviceId, first.serial);
    assert.equal(old?.supersededBy, second.serial);
    assert.equal(old?.retireAt, new Date(start + OVERLAP_MS).toISOString());
    assert.equal((await certOf(deviceId, second.serial))?.renewedFrom, first.serial);
    // within the overlap both authenticate (the device may still be switching)
    t.clock.advance(OVERLAP_MS - 1000);
    assert.equal(await authenticates(first), 'firmware_root_missing');
    assert.equal(await authenticates(second), 'firmware_root_missing');
    // after it: the old one is refused with its own code, the new one works
    t.clock.advance(1000);
    assert.equal(await authenticates(first), 'certificate_superseded');
    assert.equal(await authenticates(second), 'firmware_root_missing');
    await assert.rejects(connectTls(t, { cert: first.cert, key: first.key, clientId: deviceId }));
    // the retirement pass revokes it as superseded (signalled, and listed in the CRL)
    const signals = revokedSignals.length;
    assert.ok((await t.hub.services.pki.retireSuperseded()) >= 1);
    const retired = await certOf(deviceId, first.serial);
    assert.equal(retired?.revocationReason, 'superseded');
    assert.ok(revokedSignals.slice(signals).some((c) => c.serial === first.serial));
    assert.equal((await certOf(deviceId, second.serial))?.revokedAt, null, 'not its successor');
    const crl = join(tmp, 'superseded.crl');
    writeFileSync(crl, await t.client().pki.crl(s.orgId));
    const text = execFileSync('openssl', ['crl', '-in', crl, '-noout', '-text'], {
      encoding: 'utf8',
    });
    assert.match(text.toLowerCase().replace(/:/g, ''), new RegExp(first.serial.replace(/^0+/, '')));
    assert.match(text, /Superseded/);
  });

  it('a certificate renews once: renewing again with it is refused, except a retry of the same CSR, which gets the same certificate back', async () => {
    const { deviceId, first } = await enrolled('once-1');
    const k = await generateDeviceKeyAndCsr();
    const second = await renew(first, k);
    // the device lost the answer and retries with the same key and CSR: the same certificate
    const retry = await renew(first, k);
    assert.equal(retry.serial, second.serial);
    // a different key (someone else holding the old key) is refused, and mints nothing
    const e = await rejectsWith(renew(first), 'certificate_superseded');
    assert.match(e.message, new RegExp(second.serial));
    assert.equal((await s.api.devices.certificates(deviceId)).length, 2);
    // the successor renews normally
    const third = await renew(second);
    assert.equal((await certOf(deviceId, third.serial))?.renewedFrom, second.serial);
  });

  it(`renewals are rate-limited per device (${PER_DAY} in 24 hours) with a retry time; other devices are unaffected`, async () => {
    const { deviceId, first } = await enrolled('rate-1');
    let h = first;
    for (let i = 0; i < PER_DAY; i++) {
      h = await renew(h);
      t.clock.advance(60_000);
    }
    const before = (await s.api.devices.certificates(deviceId)).length;
    const e = await rejectsWith(renew(h), 'certificate_renewal_rate_limited');
    assert.equal(e.status, 429);
    assert.equal((await s.api.devices.certificates(deviceId)).length, before, 'nothing minted');
    assert.equal((await certOf(deviceId, h.serial))?.supersededBy, null, 'nothing superseded');
    // another device renews
    const other = await enrolled('rate-2');
    await renew(other.first);
    // a day after the first of them, one renewal is free again
    t.clock.advance(24 * 3600_000 - PER_DAY * 60_000 + 1000);
    const fresh = await renew(h);
    assert.equal((await certOf(deviceId, fresh.serial))?.renewedFrom, h.serial);
  });

  it('revoking a certificate revokes every certificate renewed from it, each signalled; a superseded revocation does not', async () => {
    const { deviceId, first } = await enrolled('lineage-1');
    const second = await renew(first);
    const third = await renew(second);
    // revoking the middle one as superseded leaves its successor alone
    await s.api.devices.revokeCertificate(deviceId, second.serial, 'superseded');
    assert.equal((await certOf(deviceId, third.serial))?.revokedAt, null);
    const signals = revokedSignals.length;
    const r = await s.api.devices.revokeCertificate(deviceId, first.serial, 'keyCompromise');
    assert.equal(r.serial, first.serial);
    for (const serial of [first.serial, third.serial]) {
      const c = await certOf(deviceId, serial);
      assert.equal(c?.revocationReason, 'keyCompromise', serial);
    }
    assert.equal((await certOf(deviceId, second.serial))?.revocationReason, 'superseded');
    assert.deepEqual(
      revokedSignals
        .slice(signals)
        .map((c) => c.serial)
        .sort(),
      [first.serial, third.serial].sort(),
    );
    await rejectsWith(
      s.api.devices.revokeCertificate(deviceId, first.serial, 'keyCompromise'),
      'conflict',
    );
  });

  it('the thief: a stolen key renewed twice is cut off by revoking the stolen serial, even after it retired as superseded', async () => {
    const { deviceId, first: stolen } = await enrolled('thief-1');
    // the thief copies the key and renews before the device does, then renews again
    const minted1 = await renew(stolen);
    const minted2 = await renew(minted1);
    // the real device cannot renew any more: the certificate was renewed by someone else
    await rejectsWith(renew(stolen), 'certificate_superseded');
    // an hour later the stolen certificate has retired as superseded …
    t.clock.advance(OVERLAP_MS);
    await t.hub.services.pki.retireSuperseded();
    assert.equal((await certOf(deviceId, stolen.serial))?.revocationReason, 'superseded');
    const thief = await connectTls(t, {
      cert: minted2.cert,
      key: minted2.key,
      clientId: deviceId,
    });
    const cut = new Promise<void>((resolve) => thief.once('close', () => resolve()));
    // … and revoking it as compromised still revokes everything the thief minted
    await s.api.devices.revokeCertificate(deviceId, stolen.serial, 'keyCompromise');
    // (minted1 was superseded by minted2 and retired with the stolen one; minted2 was live)
    assert.equal((await certOf(deviceId, minted2.serial))?.revocationReason, 'keyCompromise');
    for (const m of [minted1, minted2]) assert.equal(await authenticates(m), 'certificate_revoked');
    await cut; // the thief's live session is cut
    thief.end(true);
    await assert.rejects(
      connectTls(t, { cert: minted2.cert, key: minted2.key, clientId: deviceId }),
    );
    await rejectsWith(renew(minted2), 'certificate_revoked');
  });

  it('revoke all: every live certificate of the device is revoked and signalled; the device can enroll again', async () => {
    const { deviceId, first } = await enrolled('all-1');
    const second = await renew(first);
    const other = await enrolled('all-2');
    const signals = revokedSignals.length;
    const revoked = await s.api.devices.revokeAllCertificates(deviceId, 'keyCompromise');
    assert.deepEqual(revoked.map((c) => c.serial).sort(), [first.serial, second.serial].sort());
    assert.ok(revoked.every((c) => c.revocationReason === 'keyCompromise'));
    assert.deepEqual(
      revokedSignals
        .slice(signals)
        .map((c) => c.serial)
        .sort(),
      [first.serial, second.serial].sort(),
    );
    assert.equal(await authenticates(second), 'certificate_revoked');
    assert.equal(
      await authenticates(other.first),
      'firmware_root_missing',
      'other devices keep theirs',
    );
    assert.deepEqual(await s.api.devices.revokeAllCertificates(deviceId), []);
    const [audit] = (await s.api.audit.list({ action: 'revokeAllCertificates', limit: 1 })).items;
    assert.equal(audit?.targetId, deviceId);
    await rejectsWith(
      s.api.devices.revokeAllCertificates('01890000-0000-7000-8000-000000000000'),
      'not_found',
    );
    // a new enrollment gives the device a fresh start
    const { token } = await s.api.devices.createEnrollmentToken(deviceId, {});
    await t.client().enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem });
  });
});

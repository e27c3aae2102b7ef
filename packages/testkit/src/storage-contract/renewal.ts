import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateRecord } from '@bulwark/core';
import { T0, certFx, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const HOUR = 3_600_000;

/**
 * PkiStore renewal (decision 0016): a renewal supersedes the certificate it was authenticated
 * with, once, atomically with a per-device rate limit; retired certificates are listed hub-wide.
 */
export function renewalSuite(open: OpenStorage): void {
  describe('PkiStore renewal', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      const first = certFx(org.id, device.id);
      await s().pki.insertCertificate(first);
      return { org, device, first };
    };
    const child = (of: CertificateRecord, createdAt = T0 + HOUR) => ({
      ...certFx(of.orgId, of.deviceId, { createdAt }),
      renewedFrom: of.serial,
    });
    const renew = (cert: ReturnType<typeof child>, limit = 10, since = T0) =>
      s().pki.renewCertificate({ cert, retireAt: cert.createdAt + HOUR, since, limit });

    it('supersedes the old certificate (retiring after the overlap) and stores the new one', async () => {
      const { org, first } = await seed();
      const next = child(first);
      assert.equal(await renew(next), 'renewed');
      assert.deepEqual(await s().pki.getCertificate(org.id, next.serial), next);
      assert.deepEqual(await s().pki.getCertificate(org.id, first.serial), {
        ...first,
        supersededBy: next.serial,
        retireAt: next.createdAt + HOUR,
      });
    });

    it('a certificate renews once: a second renewal from it is superseded and stores nothing', async () => {
      const { org, first } = await seed();
      assert.equal(await renew(child(first)), 'renewed');
      const again = child(first, T0 + 2 * HOUR);
      assert.equal(await renew(again), 'superseded');
      assert.equal(await s().pki.getCertificate(org.id, again.serial), undefined);
    });

    it('refuses a revoked, unknown or other device’s certificate, storing nothing', async () => {
      const { org, device, first } = await seed();
      await s().pki.revokeCertificate(org.id, first.serial, T0 + 1, 'keyCompromise');
      const fromRevoked = child(first);
      assert.equal(await renew(fromRevoked), 'revoked');
      assert.equal(await s().pki.getCertificate(org.id, fromRevoked.serial), undefined);
      const unknown = { ...certFx(org.id, device.id), renewedFrom: 'ab'.repeat(16) };
      assert.equal(await renew(unknown), 'not_found');
      const other = await seed();
      const foreign = { ...certFx(org.id, device.id), renewedFrom: other.first.serial };
      assert.equal(await renew(foreign), 'not_found');
      assert.equal(
        (await s().pki.getCertificate(other.org.id, other.first.serial))?.supersededBy,
        null,
      );
    });

    it('rate-limits renewals per device within the window; enrollments and older renewals do not count', async () => {
      const { org, device, first } = await seed();
      const since = T0 + 10 * HOUR;
      const old = child(first, T0 + HOUR); // before the window
      assert.equal(await renew(old, 2, since), 'renewed');
      const enrolled = certFx(org.id, device.id, { createdAt: T0 + 11 * HOUR });
      await s().pki.insertCertificate(enrolled); // an enrollment in the window
      const a = child(old, T0 + 12 * HOUR);
      assert.equal(await renew(a, 2, since), 'renewed');
      const b = child(a, T0 + 13 * HOUR);
      assert.equal(await renew(b, 2, since), 'renewed');
      const c = child(b, T0 + 14 * HOUR);
      assert.equal(await renew(c, 2, since), 'rate_limited');
      assert.equal(await s().pki.getCertificate(org.id, c.serial), undefined);
      assert.equal((await s().pki.getCertificate(org.id, b.serial))?.supersededBy, null);
      // another device of the organization has its own budget
      const d2 = await seedDevice(s(), org.id);
      const own = certFx(org.id, d2.id);
      await s().pki.insertCertificate(own);
      assert.equal(await renew(child(own, T0 + 14 * HOUR), 2, since), 'renewed');
    });

    it('concurrent renewals: one wins per certificate, and the limit holds per device', async () => {
      const { org, device, first } = await seed();
      const racing = Array.from({ length: 5 }, (_, i) => child(first, T0 + HOUR + i));
      const outcomes = await Promise.all(racing.map((c) => renew(c)));
      assert.deepEqual(outcomes.filter((o) => o === 'renewed').length, 1);
      assert.ok(outcomes.every((o) => o === 'renewed' || o === 'superseded'));
      // five live certificates of one device renewing at once against a limit of 3 (1 used)
      const lines = Array.from({ length: 5 }, () => certFx(org.id, device.id));
      for (const l of lines) await s().pki.insertCertificate(l);
      const more = await Promise.all(lines.map((l) => renew(child(l, T0 + 2 * HOUR), 3)));
      assert.equal(more.filter((o) => o === 'renewed').length, 2);
      assert.equal(more.filter((o) => o === 'rate_limited').length, 3);
      const all = await s().pki.listCertificates(org.id, device.id);
      assert.equal(all.filter((c) => c.renewedFrom !== null).length, 3);
    });

    it('listRetired lists superseded, unrevoked certificates whose overlap ended, hub-wide, oldest first', async () => {
      // Far from the times other tests use, since the suite shares one database.
      const base = T0 + 7000 * 86_400_000;
      const a = await seed();
      const b = await seed();
      const na = child(a.first, base);
      const nb = child(b.first, base + 10);
      assert.equal(await renew(na), 'renewed'); // retires at base + HOUR
      assert.equal(await renew(nb), 'renewed'); // retires at base + 10 + HOUR
      // Certificates of the other tests retired long before `base`: only ours are compared.
      const ours = new Set([a.first.serial, b.first.serial]);
      const retired = async (now: number, limit = 100) =>
        (await s().pki.listRetired(now, limit)).map((c) => c.serial).filter((x) => ours.has(x));
      assert.deepEqual(await retired(base + HOUR - 1), []);
      assert.deepEqual(await retired(base + HOUR + 10), [a.first.serial, b.first.serial]);
      const firstOnes = await s().pki.listRetired(base + HOUR + 10, 1);
      assert.equal(firstOnes.length, 1);
      assert.ok((firstOnes[0]?.retireAt ?? Infinity) <= base + HOUR + 10);
      await s().pki.revokeCertificate(a.org.id, a.first.serial, base + HOUR, 'superseded');
      assert.deepEqual(await retired(base + HOUR + 10), [b.first.serial]);
    });
  });
}

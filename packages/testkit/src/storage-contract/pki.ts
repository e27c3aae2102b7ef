import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HUB_SCOPE, newId, type CaRecord } from '@bulwark/core';
import { T0, certFx, enrollmentTokenFx, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const caFx = (scope: string, over: Partial<CaRecord> = {}): CaRecord => ({
  scope,
  role: 'root',
  certPem: `-----BEGIN CERTIFICATE-----\n${newId()}\n-----END CERTIFICATE-----\n`,
  keySealed: `sealed:${newId()}`,
  serial: newId().replaceAll('-', ''),
  notAfter: T0 + 10 * 365 * 86_400_000,
  createdAt: T0,
  ...over,
});

/** PkiStore: CAs, enrollment tokens, atomic enrollment, certificates, revocation, CRL numbers. */
export function pkiSuite(open: OpenStorage): void {
  describe('PkiStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      return { org, device };
    };

    describe('certificate authorities', () => {
      it('getCa is undefined until putCaIfAbsent inserts; a second put keeps the first', async () => {
        const org = await seedOrg(s());
        assert.equal(await s().pki.getCa(org.id, 'root'), undefined);
        const first = caFx(org.id);
        assert.equal(await s().pki.putCaIfAbsent(first), true);
        assert.equal(await s().pki.putCaIfAbsent(caFx(org.id)), false);
        assert.deepEqual(await s().pki.getCa(org.id, 'root'), first);
      });

      it('roles and scopes are independent, including the hub scope', async () => {
        const org = await seedOrg(s());
        const root = caFx(org.id);
        const issuing = caFx(org.id, { role: 'issuing' });
        const hub = caFx(HUB_SCOPE, { role: 'issuing' });
        assert.equal(await s().pki.putCaIfAbsent(root), true);
        assert.equal(await s().pki.putCaIfAbsent(issuing), true);
        assert.equal(await s().pki.putCaIfAbsent(hub), true);
        assert.deepEqual(await s().pki.getCa(org.id, 'issuing'), issuing);
        assert.deepEqual(await s().pki.getCa(HUB_SCOPE, 'issuing'), hub);
        assert.equal(await s().pki.getCa((await seedOrg(s())).id, 'root'), undefined);
      });

      it('concurrent putCaIfAbsent: exactly one inserts', async () => {
        const org = await seedOrg(s());
        const cas = Array.from({ length: 6 }, () => caFx(org.id));
        const results = await Promise.all(cas.map((ca) => s().pki.putCaIfAbsent(ca)));
        assert.equal(results.filter(Boolean).length, 1);
        const winner = cas[results.indexOf(true)];
        assert.deepEqual(await s().pki.getCa(org.id, 'root'), winner);
      });
    });

    describe('enrollment', () => {
      it('createEnrollmentToken then getEnrollmentTokenByHash', async () => {
        const { org, device } = await seed();
        const token = enrollmentTokenFx(org.id, device.id);
        await s().pki.createEnrollmentToken(token);
        assert.deepEqual(await s().pki.getEnrollmentTokenByHash(token.tokenHash), token);
        assert.equal(await s().pki.getEnrollmentTokenByHash('0'.repeat(64)), undefined);
      });

      it('completeEnrollment marks the token used and stores the certificate', async () => {
        const { org, device } = await seed();
        const token = enrollmentTokenFx(org.id, device.id);
        await s().pki.createEnrollmentToken(token);
        const cert = certFx(org.id, device.id);
        assert.equal(await s().pki.completeEnrollment(token.id, T0 + 10, cert), true);
        assert.equal((await s().pki.getEnrollmentTokenByHash(token.tokenHash))?.usedAt, T0 + 10);
        assert.deepEqual(await s().pki.getCertificate(org.id, cert.serial), cert);
      });

      it('a second completeEnrollment with the same token returns false and stores no certificate', async () => {
        const { org, device } = await seed();
        const token = enrollmentTokenFx(org.id, device.id);
        await s().pki.createEnrollmentToken(token);
        assert.equal(
          await s().pki.completeEnrollment(token.id, T0 + 1, certFx(org.id, device.id)),
          true,
        );
        const second = certFx(org.id, device.id);
        assert.equal(await s().pki.completeEnrollment(token.id, T0 + 2, second), false);
        assert.equal(await s().pki.getCertificate(org.id, second.serial), undefined);
        assert.equal((await s().pki.getEnrollmentTokenByHash(token.tokenHash))?.usedAt, T0 + 1);
        assert.equal((await s().pki.listCertificates(org.id, device.id)).length, 1);
      });

      it('racing completeEnrollment calls with one token: exactly one stores a certificate', async () => {
        const { org, device } = await seed();
        const token = enrollmentTokenFx(org.id, device.id);
        await s().pki.createEnrollmentToken(token);
        const certs = Array.from({ length: 6 }, () => certFx(org.id, device.id));
        const results = await Promise.all(
          certs.map((c) => s().pki.completeEnrollment(token.id, T0 + 1, c)),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await s().pki.listCertificates(org.id, device.id)).length, 1);
      });

      it('completeEnrollment with an unknown token, or one of another org, returns false', async () => {
        const { org, device } = await seed();
        const other = await seed();
        const token = enrollmentTokenFx(org.id, device.id);
        await s().pki.createEnrollmentToken(token);
        const foreign = certFx(other.org.id, other.device.id);
        assert.equal(await s().pki.completeEnrollment(token.id, T0 + 1, foreign), false);
        assert.equal(await s().pki.getCertificate(other.org.id, foreign.serial), undefined);
        assert.equal((await s().pki.getEnrollmentTokenByHash(token.tokenHash))?.usedAt, null);
        assert.equal(
          await s().pki.completeEnrollment(newId(), T0 + 1, certFx(org.id, device.id)),
          false,
        );
      });
    });

    describe('certificates', () => {
      it('insertCertificate then getCertificate; another org cannot see it', async () => {
        const { org, device } = await seed();
        const other = await seedOrg(s());
        const cert = certFx(org.id, device.id);
        await s().pki.insertCertificate(cert);
        assert.deepEqual(await s().pki.getCertificate(org.id, cert.serial), cert);
        assert.equal(await s().pki.getCertificate(other.id, cert.serial), undefined);
        assert.equal(await s().pki.getCertificate(org.id, 'ab'.repeat(16)), undefined);
      });

      it('listCertificates lists one device’s certificates newest first, scoped by org', async () => {
        const { org, device } = await seed();
        const otherDevice = await seedDevice(s(), org.id);
        const other = await seedOrg(s());
        const c1 = certFx(org.id, device.id, { createdAt: T0 + 1 });
        const c2 = certFx(org.id, device.id, { createdAt: T0 + 3 });
        const c3 = certFx(org.id, device.id, { createdAt: T0 + 2 });
        for (const c of [c1, c2, c3, certFx(org.id, otherDevice.id)])
          await s().pki.insertCertificate(c);
        assert.deepEqual(await s().pki.listCertificates(org.id, device.id), [c2, c3, c1]);
        assert.deepEqual(await s().pki.listCertificates(other.id, device.id), []);
      });

      it('findLiveBySpki finds unrevoked, unexpired certificates of the org with that key', async () => {
        const { org, device } = await seed();
        const d2 = await seedDevice(s(), org.id);
        const other = await seed();
        const spki = 'ab'.repeat(32);
        const now = T0 + 1000;
        const live1 = certFx(org.id, device.id, { spkiSha256: spki, createdAt: T0 + 1 });
        const live2 = certFx(org.id, d2.id, { spkiSha256: spki, createdAt: T0 + 2 });
        const revoked = certFx(org.id, device.id, {
          spkiSha256: spki,
          revokedAt: T0 + 5,
          revocationReason: 'keyCompromise',
        });
        const expired = certFx(org.id, device.id, { spkiSha256: spki, notAfter: now });
        const otherOrg = certFx(other.org.id, other.device.id, { spkiSha256: spki });
        const otherKey = certFx(org.id, device.id);
        for (const c of [live1, live2, revoked, expired, otherOrg, otherKey])
          await s().pki.insertCertificate(c);
        const found = await s().pki.findLiveBySpki(org.id, spki, now);
        assert.deepEqual(found.map((c) => c.serial).sort(), [live1.serial, live2.serial].sort());
        assert.deepEqual(await s().pki.findLiveBySpki(org.id, 'cd'.repeat(32), now), []);
      });

      it('revokeCertificate returns true once, then false; through another org it is false', async () => {
        const { org, device } = await seed();
        const other = await seedOrg(s());
        const cert = certFx(org.id, device.id);
        await s().pki.insertCertificate(cert);
        assert.equal(await s().pki.revokeCertificate(other.id, cert.serial, T0 + 1, 'x'), false);
        assert.equal((await s().pki.getCertificate(org.id, cert.serial))?.revokedAt, null);
        assert.equal(
          await s().pki.revokeCertificate(org.id, cert.serial, T0 + 2, 'keyCompromise'),
          true,
        );
        assert.equal(
          await s().pki.revokeCertificate(org.id, cert.serial, T0 + 3, 'superseded'),
          false,
        );
        assert.deepEqual(await s().pki.getCertificate(org.id, cert.serial), {
          ...cert,
          revokedAt: T0 + 2,
          revocationReason: 'keyCompromise',
        });
        assert.equal(await s().pki.revokeCertificate(org.id, 'ff'.repeat(16), T0, 'x'), false);
      });

      it('listRevoked lists only the organization’s revoked certificates', async () => {
        const { org, device } = await seed();
        const other = await seed();
        const live = certFx(org.id, device.id);
        const gone = certFx(org.id, device.id);
        const foreign = certFx(other.org.id, other.device.id);
        for (const c of [live, gone, foreign]) await s().pki.insertCertificate(c);
        await s().pki.revokeCertificate(org.id, gone.serial, T0 + 1, 'cessationOfOperation');
        await s().pki.revokeCertificate(other.org.id, foreign.serial, T0 + 1, 'x');
        assert.deepEqual(await s().pki.listRevoked(org.id), [
          { ...gone, revokedAt: T0 + 1, revocationReason: 'cessationOfOperation' },
        ]);
        assert.deepEqual(await s().pki.listRevoked((await seedOrg(s())).id), []);
      });

      it('listRevokedSince lists revocations after a time across organizations, oldest first, up to a limit', async () => {
        // Far from the times other tests use, since the suite shares one database.
        const base = T0 + 5000 * 86_400_000;
        const a = await seed();
        const b = await seed();
        const [c1, c2, c3] = [
          certFx(a.org.id, a.device.id),
          certFx(b.org.id, b.device.id),
          certFx(a.org.id, a.device.id),
        ];
        for (const c of [c1, c2, c3]) await s().pki.insertCertificate(c);
        await s().pki.revokeCertificate(a.org.id, c1.serial, base + 10, 'keyCompromise');
        await s().pki.revokeCertificate(b.org.id, c2.serial, base + 20, 'superseded');
        const since = await s().pki.listRevokedSince(base, 10);
        assert.deepEqual(
          since.map((c) => c.serial),
          [c1.serial, c2.serial],
        );
        assert.deepEqual(
          (await s().pki.listRevokedSince(base + 10, 10)).map((c) => c.serial),
          [c2.serial],
        );
        assert.equal((await s().pki.listRevokedSince(base, 1)).length, 1);
        assert.deepEqual(await s().pki.listRevokedSince(base + 20, 10), []);
      });
    });

    describe('CRL numbers', () => {
      it('nextCrlNumber counts 1, 2, 3 … per organization', async () => {
        const a = await seedOrg(s());
        const b = await seedOrg(s());
        assert.equal(await s().pki.nextCrlNumber(a.id), 1);
        assert.equal(await s().pki.nextCrlNumber(a.id), 2);
        assert.equal(await s().pki.nextCrlNumber(b.id), 1);
        assert.equal(await s().pki.nextCrlNumber(a.id), 3);
      });

      it('concurrent calls get distinct, strictly increasing numbers', async () => {
        const org = await seedOrg(s());
        const got = await Promise.all(
          Array.from({ length: 20 }, () => s().pki.nextCrlNumber(org.id)),
        );
        assert.deepEqual(
          [...got].sort((x, y) => x - y),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        assert.equal(await s().pki.nextCrlNumber(org.id), 21);
      });
    });
  });
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  newId,
  type Device,
  type ProvisionedHardware,
  type ProvisioningClaim,
  type Storage,
} from '@bulwark/core';
import { T0, certFx, deviceFx, enrollmentTokenFx, seedDevice, seedOrg } from './fixtures.js';
import { rejectsWithCode, useStorage, type OpenStorage } from './harness.js';

const DAY = 86_400_000;

const claimFx = (orgId: string, over: Partial<ProvisioningClaim> = {}): ProvisioningClaim => ({
  id: newId(),
  orgId,
  name: 'batch 2026-12',
  tokenHash: randomBytes(32).toString('hex'),
  template: { type: 'sensor-v1', tags: ['batch:12'], channels: [] },
  maxDevices: 3,
  usedCount: 0,
  hardwareIds: null,
  hardwarePattern: null,
  expiresAt: T0 + DAY,
  revokedAt: null,
  createdBy: null,
  createdAt: T0,
  ...over,
});

/** A claim of `claim` by a new device with hardware id `hw`. */
function claimOf(claim: ProvisioningClaim, hw: string, over: Partial<Device> = {}) {
  const device = deviceFx(claim.orgId, { state: 'active', name: `sensor-${hw}`, ...over });
  const cert = certFx(claim.orgId, device.id);
  const hardware: ProvisionedHardware = {
    orgId: claim.orgId,
    hardwareId: hw,
    claimId: claim.id,
    deviceId: device.id,
    spkiSha256: cert.spkiSha256,
    serial: cert.serial,
    createdAt: T0 + 1000,
  };
  return { device, cert, hardware };
}

/** ProvisioningStore: claims, provisioned hardware ids, the atomic claim and bulk import. */
export function provisioningSuite(open: OpenStorage): void {
  describe('ProvisioningStore', () => {
    const s = useStorage(open);
    const p = (): Storage['provisioning'] => s().provisioning;

    it('create, get, get by token hash and list round-trip every field', async () => {
      const org = await seedOrg(s());
      const a = claimFx(org.id, {
        hardwareIds: ['SN-1', 'SN-2'],
        hardwarePattern: 'SN-*',
        createdBy: newId(),
        template: { type: 't', mode: 'autonomous', locationId: null, namePrefix: 'x-' },
      });
      const b = claimFx(org.id, { createdAt: T0 + 1 });
      await p().createClaim(a);
      await p().createClaim(b);
      assert.deepEqual(await p().get(org.id, a.id), a);
      assert.deepEqual(await p().getByTokenHash(a.tokenHash), a);
      assert.equal(await p().getByTokenHash('0'.repeat(64)), undefined);
      assert.deepEqual(
        (await p().list(org.id)).map((c) => c.id),
        [b.id, a.id],
      );
    });

    it("another organization's claim reads as not found and cannot be revoked", async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const c = claimFx(org.id);
      await p().createClaim(c);
      assert.equal(await p().get(other.id, c.id), undefined);
      assert.deepEqual(await p().list(other.id), []);
      assert.equal(await p().revoke(other.id, c.id, T0), false);
      assert.equal(await p().revoke(org.id, c.id, T0 + 5), true);
      assert.equal(await p().revoke(org.id, c.id, T0 + 6), false);
      assert.equal((await p().get(org.id, c.id))?.revokedAt, T0 + 5);
    });

    it('claimDevice stores device, certificate and hardware id and counts the claim', async () => {
      const org = await seedOrg(s());
      const c = claimFx(org.id);
      await p().createClaim(c);
      const r = claimOf(c, 'SN-1');
      assert.equal(await p().claimDevice(r), 'created');
      assert.deepEqual(await s().devices.get(org.id, r.device.id), r.device);
      assert.deepEqual(await s().pki.getCertificate(org.id, r.cert.serial), r.cert);
      assert.deepEqual(await p().getHardware(org.id, 'SN-1'), r.hardware);
      assert.equal((await p().get(org.id, c.id))?.usedCount, 1);
      const other = await seedOrg(s());
      assert.equal(await p().getHardware(other.id, 'SN-1'), undefined);
    });

    it('claimDevice refuses a taken hardware id, an exhausted, revoked or expired claim, writing nothing', async () => {
      const org = await seedOrg(s());
      const c = claimFx(org.id, { maxDevices: 1 });
      await p().createClaim(c);
      assert.equal(await p().claimDevice(claimOf(c, 'A')), 'created');
      const again = claimOf(c, 'A');
      const more = claimOf(c, 'B');
      const big = claimFx(org.id, { maxDevices: 10 });
      await p().createClaim(big);
      assert.equal(await p().claimDevice(claimOf(big, 'A')), 'hardware_taken');
      assert.equal(await p().claimDevice(more), 'exhausted');
      assert.equal(await s().devices.get(org.id, again.device.id), undefined);
      assert.equal(await s().devices.get(org.id, more.device.id), undefined);
      const expired = claimFx(org.id, { expiresAt: T0 + 1000 });
      await p().createClaim(expired);
      assert.equal(await p().claimDevice(claimOf(expired, 'C')), 'expired');
      const revoked = claimFx(org.id);
      await p().createClaim(revoked);
      await p().revoke(org.id, revoked.id, T0);
      assert.equal(await p().claimDevice(claimOf(revoked, 'D')), 'revoked');
      assert.equal((await p().get(org.id, big.id))?.usedCount, 0);
      assert.equal(await p().getHardware(org.id, 'C'), undefined);
    });

    it('claimDevice with a taken device name writes nothing', async () => {
      const org = await seedOrg(s());
      await seedDevice(s(), org.id, { name: 'sensor-E' });
      const c = claimFx(org.id);
      await p().createClaim(c);
      await rejectsWithCode(p().claimDevice(claimOf(c, 'E')), 'device_name_taken');
      assert.equal(await p().getHardware(org.id, 'E'), undefined);
      assert.equal((await p().get(org.id, c.id))?.usedCount, 0);
    });

    it('racing claims never exceed the count or provision a hardware id twice', async () => {
      const org = await seedOrg(s());
      const c = claimFx(org.id, { maxDevices: 3 });
      await p().createClaim(c);
      const outcomes = await Promise.all(
        ['H1', 'H2', 'H3', 'H4', 'H5', 'H1', 'H2'].map((hw, i) =>
          p().claimDevice(claimOf(c, hw, { name: `race-${i}` })),
        ),
      );
      assert.equal(outcomes.filter((o) => o === 'created').length, 3);
      assert.equal((await p().get(org.id, c.id))?.usedCount, 3);
    });

    it('importDevices stores devices and tokens together, or nothing on a taken name', async () => {
      const org = await seedOrg(s());
      const devices = Array.from({ length: 250 }, (_, i) =>
        deviceFx(org.id, { name: `imp-${i}`, tags: ['a', 'b'] }),
      );
      const tokens = devices.map((d) => enrollmentTokenFx(org.id, d.id));
      await p().importDevices(devices, tokens);
      assert.deepEqual(await s().devices.get(org.id, devices[249]!.id), devices[249]);
      assert.deepEqual(await s().pki.getEnrollmentTokenByHash(tokens[0]!.tokenHash), tokens[0]);
      assert.deepEqual((await p().existingDeviceNames(org.id, ['imp-3', 'nope', 'imp-7'])).sort(), [
        'imp-3',
        'imp-7',
      ]);
      assert.deepEqual(await p().existingDeviceTypes(org.id, ['sensor-v1', 'other']), [
        'sensor-v1',
      ]);
      const clash = [deviceFx(org.id, { name: 'fresh-1' }), deviceFx(org.id, { name: 'imp-5' })];
      await rejectsWithCode(
        p().importDevices(
          clash,
          clash.map((d) => enrollmentTokenFx(org.id, d.id)),
        ),
        'device_name_taken',
      );
      assert.equal(await s().devices.get(org.id, clash[0]!.id), undefined);
      const other = await seedOrg(s());
      assert.deepEqual(await p().existingDeviceNames(other.id, ['imp-3']), []);
    });
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, type AccessTicketRecord } from '@bulwark/core';
import { T0, seedDevice, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const MIN = 60_000;

const ticketFx = (
  orgId: string,
  deviceId: string,
  over: Partial<AccessTicketRecord> = {},
): AccessTicketRecord => ({
  jti: newId(),
  orgId,
  deviceId,
  perm: 'operate',
  issuedBy: newId(),
  issuedByType: 'user',
  issuedAt: T0,
  expiresAt: T0 + 5 * MIN,
  backup: false,
  revokedAt: null,
  ...over,
});

/** TicketStore: issued access tickets, listing by device, revocation, the revocation list. */
export function ticketSuite(open: OpenStorage): void {
  describe('TicketStore', () => {
    const s = useStorage(open);
    const seed = async () => {
      const org = await seedOrg(s());
      const device = await seedDevice(s(), org.id);
      return { org, device };
    };

    it('create then get round-trips every field, booleans and nulls included', async () => {
      const { org, device } = await seed();
      const normal = ticketFx(org.id, device.id);
      const backup = ticketFx(org.id, device.id, {
        perm: 'admin',
        issuedByType: 'api_key',
        backup: true,
        expiresAt: T0 + 30 * 86_400_000,
        revokedAt: T0 + 1,
      });
      await s().tickets.create(normal);
      await s().tickets.create(backup);
      assert.deepEqual(await s().tickets.get(org.id, normal.jti), normal);
      assert.deepEqual(await s().tickets.get(org.id, backup.jti), backup);
      assert.equal(await s().tickets.get(org.id, newId()), undefined);
    });

    it("another organization's ticket reads as not found and cannot be revoked", async () => {
      const { org, device } = await seed();
      const other = await seedOrg(s());
      const t = ticketFx(org.id, device.id);
      await s().tickets.create(t);
      assert.equal(await s().tickets.get(other.id, t.jti), undefined);
      assert.deepEqual(await s().tickets.listForDevice(other.id, device.id, { limit: 10 }), []);
      assert.equal(await s().tickets.revoke(other.id, t.jti, T0 + 1), false);
      assert.equal((await s().tickets.get(org.id, t.jti))?.revokedAt, null);
    });

    it('listForDevice: newest first, limited, only that device, optionally only unexpired', async () => {
      const { org, device } = await seed();
      const second = await seedDevice(s(), org.id);
      const a = ticketFx(org.id, device.id, { expiresAt: T0 + MIN });
      const b = ticketFx(org.id, device.id, { expiresAt: T0 + 10 * MIN });
      const c = ticketFx(org.id, device.id, { expiresAt: T0 + 3 * MIN });
      await s().tickets.create(ticketFx(org.id, second.id));
      for (const t of [a, b, c]) await s().tickets.create(t);
      const all = await s().tickets.listForDevice(org.id, device.id, { limit: 10 });
      assert.deepEqual(
        all.map((t) => t.jti),
        [c.jti, b.jti, a.jti],
      );
      const two = await s().tickets.listForDevice(org.id, device.id, { limit: 2 });
      assert.deepEqual(
        two.map((t) => t.jti),
        [c.jti, b.jti],
      );
      const live = await s().tickets.listForDevice(org.id, device.id, {
        limit: 10,
        unexpiredAt: T0 + 2 * MIN,
      });
      assert.deepEqual(
        live.map((t) => t.jti),
        [c.jti, b.jti],
      );
    });

    it('revoke sets revokedAt once; a second revoke returns false and keeps the first time', async () => {
      const { org, device } = await seed();
      const t = ticketFx(org.id, device.id, { backup: true });
      await s().tickets.create(t);
      assert.equal(await s().tickets.revoke(org.id, t.jti, T0 + 5), true);
      assert.equal(await s().tickets.revoke(org.id, t.jti, T0 + 9), false);
      assert.equal((await s().tickets.get(org.id, t.jti))?.revokedAt, T0 + 5);
      assert.equal(await s().tickets.revoke(org.id, newId(), T0), false);
    });

    it('listRevoked: revoked and unexpired tickets of the device, oldest first', async () => {
      const { org, device } = await seed();
      const second = await seedDevice(s(), org.id);
      const old = ticketFx(org.id, device.id, { backup: true, expiresAt: T0 + MIN });
      const live1 = ticketFx(org.id, device.id, { backup: true, expiresAt: T0 + 60 * MIN });
      const live2 = ticketFx(org.id, device.id, { backup: true, expiresAt: T0 + 30 * MIN });
      const kept = ticketFx(org.id, device.id, { backup: true, expiresAt: T0 + 60 * MIN });
      const elsewhere = ticketFx(org.id, second.id, { expiresAt: T0 + 60 * MIN });
      for (const t of [old, live1, live2, kept, elsewhere]) await s().tickets.create(t);
      for (const t of [old, live1, live2, elsewhere]) await s().tickets.revoke(org.id, t.jti, T0);
      const revoked = await s().tickets.listRevoked(org.id, device.id, T0 + 2 * MIN);
      assert.deepEqual(
        revoked.map((t) => t.jti),
        [live1.jti, live2.jti],
      );
      assert.deepEqual(await s().tickets.listRevoked(org.id, device.id, T0 + 61 * MIN), []);
    });
  });
}

/**
 * Credential rotation of an LwM2M device on an operator's request (decision 0045, amendment of
 * 2026-12-07) against Eclipse Wakaama's `lwm2mclient-dtls -b`: the factory bootstrap also writes
 * the bootstrap account /0/0 with the new DM PSK; `POST /devices/:id/lwm2m/rebootstrap` marks the
 * device; its next Update is answered 4.04, Wakaama bootstraps again with /0/0 (its current DM
 * PSK), is given a fresh key and registers with it; the old key is refused from then on. A viewer
 * gets 403, another organization 404, a device without the tag or a PSK a precise 409.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent } from '@bulwark/core';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { at, startWakaama, stopWakaama, until, wakaama, type Client } from './lwm2m-helpers.js';

const { path: CLIENT, skip } = wakaama('lwm2mclient-dtls');
const FACTORY_HEX = Buffer.from('factory-key-rot1').toString('hex');

describe(
  'LwM2M credential rotation (Wakaama lwm2mclient-dtls -b)',
  { skip, timeout: 120_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOwner>>;
    let port: number;
    let deviceId: string;
    const clients: Client[] = [];
    const events: DomainEvent[] = [];

    const start = (identity: string, hexKey: string, bootstrap = true) => {
      const c = startWakaama(CLIENT, {
        port,
        endpoint: deviceId,
        psk: { identity, hexKey },
        bootstrap,
      });
      clients.push(c);
      return c;
    };
    const audits = async (action: string) => (await s.api.audit.list({ action })).items;
    const current = async () => {
      const identity = (await t.hub.services.devicePsks.identityOf(s.orgId, deviceId))!;
      const key = (await t.hub.services.devicePsks.resolve(identity))!.key.toString('hex');
      return { identity, key };
    };
    const registrations = async () =>
      (await s.api.audit.list({ action: 'lwm2m.registered', target: deviceId })).items.length;

    before(async () => {
      t = await startTestHub(['--lwm2ms-port', '0', '--lwm2ms-host', '127.0.0.1']);
      s = await setupOwner(t);
      t.hub.services.events.listen((e) => void events.push(e));
      port = t.hub.info.lwm2msPort!;
      deviceId = (await s.api.devices.create({ name: 'waka-rot', type: 'lwm2m', tags: ['lwm2m'] }))
        .id;
      await s.api.devices.setPsk(deviceId, {
        identity: 'fac-rot',
        key: FACTORY_HEX,
        bootstrap: true,
      });
    });
    after(async () => {
      await Promise.all(clients.map((c) => stopWakaama(c)));
      await t.close();
    });

    it('refuses a viewer (403), another organization (404), a device without tag or PSK (409)', async () => {
      const { key: viewer } = await s.owner.apiKeys.create({
        name: 'viewer',
        permissions: ['devices:read'],
      });
      const path = `/devices/${deviceId}/lwm2m/rebootstrap`;
      assert.equal((await raw(t, 'POST', path, {}, viewer)).status, 403);
      const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
      const other = (
        await t.client().auth.login({
          email: 'owner@example.com',
          password: PASSWORD,
          organizationId: org2.id,
        })
      ).accessToken;
      const cross = await raw(t, 'POST', path, {}, other);
      assert.equal(cross.status, 404);
      assert.equal(cross.json['code'], 'not_found');
      const plain = await s.api.devices.create({ name: 'no-tag', type: 'lwm2m' });
      await s.api.devices.setPsk(plain.id, { identity: 'plain-1' });
      await rejectsWith(s.api.devices.rebootstrapLwm2m(plain.id), 'lwm2m_device_required');
      const nokey = await s.api.devices.create({ name: 'no-psk', type: 'lwm2m', tags: ['lwm2m'] });
      await rejectsWith(s.api.devices.rebootstrapLwm2m(nokey.id), 'lwm2m_psk_required');
      // The factory credential alone is not a device PSK: nothing to rotate yet.
      await rejectsWith(s.api.devices.rebootstrapLwm2m(deviceId), 'lwm2m_psk_required');
      for (const id of [deviceId, plain.id, nokey.id]) {
        assert.equal(await t.hub.services.bootstrapPsks.rotationRequested(id), false);
      }
    });

    it('an operator rebootstrap: the client bootstraps again with /0/0 and registers with a new key', async () => {
      const c = start('fac-rot', FACTORY_HEX);
      await until(
        'the device online over DTLS',
        async () => (await s.api.devices.presence(deviceId)).online,
        40_000,
      );
      await until('the registration audited', async () => (await registrations()) === 1);
      const first = await current();

      await s.api.devices.rebootstrapLwm2m(deviceId);
      const asked = (
        await s.api.audit.list({ action: 'rebootstrapLwm2m', target: deviceId })
      ).items.filter((a) => a.result === 'success');
      assert.equal(asked.length, 1);
      assert.equal(at(asked[0], 'detail', 'identity'), first.identity);
      // Wakaama updates on its own well before its lifetime ends; the test asks at once.
      c.say('update 1');
      const fin = await until(
        'the rotation finished',
        async () => {
          const a = await audits('lwm2m.bootstrap.finished');
          return a.length === 2 && a;
        },
        40_000,
      );
      const rotation = fin.find((a) => at(a, 'detail', 'via') === 'rotation');
      assert.equal(at(rotation, 'detail', 'identity'), first.identity);
      await until('registered again', async () => (await registrations()) === 2, 40_000);
      await until(
        'online again',
        async () => (await s.api.devices.presence(deviceId)).online,
        20_000,
      );
      const second = await current();
      assert.notEqual(second.identity, first.identity);
      assert.notEqual(second.key, first.key);
      assert.equal(at(rotation, 'detail', 'newIdentity'), second.identity);
      assert.equal(await t.hub.services.bootstrapPsks.rotationRequested(deviceId), false);
      assert.equal(await t.hub.services.devicePsks.resolve(first.identity), undefined);
      await stopWakaama(c);

      // The old key is refused from then on: an unknown identity at the handshake.
      const before = events.length;
      const old = start(first.identity, first.key, false);
      await until('the old key refused', async () =>
        events
          .slice(before)
          .some((e) => e.type === 'auth.failed' && e.subject === `psk:${first.identity}`),
      );
      await stopWakaama(old);
      assert.equal(await registrations(), 2);
    });
  },
);

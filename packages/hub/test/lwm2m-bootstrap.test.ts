/**
 * The LwM2M bootstrap server (decision 0045) against a client we did not write: Eclipse Wakaama's
 * `lwm2mclient-dtls -b` bootstraps with its factory PSK over DTLS at `POST /bs`, is provisioned a
 * fresh PSK in /0 and /1, and registers with it at the DM server (the same port); the factory
 * credential is then refused; an unknown bootstrap identity and another device's endpoint name
 * are refused; a device PSK may not bootstrap unless rotation was asked for. Bounded waits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { at, startWakaama, stopWakaama, until, wakaama, type Client } from './lwm2m-helpers.js';

const { path: CLIENT, skip } = wakaama('lwm2mclient-dtls');
const FACTORY = 'factory-key-0001';
const FACTORY_HEX = Buffer.from(FACTORY).toString('hex');

describe(
  'LwM2M bootstrap over DTLS-PSK (Wakaama lwm2mclient-dtls -b)',
  { skip, timeout: 120_000 },
  () => {
    let t: TestHub;
    let s: Awaited<ReturnType<typeof setupOwner>>;
    let port: number;
    let deviceId: string;
    let otherId: string;
    const clients: Client[] = [];

    const start = (endpoint: string, identity: string, hexKey = FACTORY_HEX) => {
      const c = startWakaama(CLIENT, {
        port,
        endpoint,
        psk: { identity, hexKey },
        bootstrap: true,
      });
      clients.push(c);
      return c;
    };
    const audits = async (action: string) => (await s.api.audit.list({ action })).items;
    const reasons = async () =>
      (await audits('lwm2m.bootstrap.refused')).map((a) => String(at(a, 'detail', 'reason')));

    before(async () => {
      t = await startTestHub(['--lwm2ms-port', '0', '--lwm2ms-host', '127.0.0.1']);
      s = await setupOwner(t);
      port = t.hub.info.lwm2msPort!;
      deviceId = (await s.api.devices.create({ name: 'waka-bs', type: 'lwm2m', tags: ['lwm2m'] }))
        .id;
      otherId = (await s.api.devices.create({ name: 'other', type: 'lwm2m', tags: ['lwm2m'] })).id;
      await s.api.devices.setPsk(deviceId, {
        identity: 'fac-1',
        key: FACTORY_HEX,
        bootstrap: true,
      });
    });
    after(async () => {
      await Promise.all(clients.map((c) => stopWakaama(c)));
      await t.close();
    });

    it('a factory identity is not a device PSK: the two share one identity space', async () => {
      await assert.rejects(
        s.api.devices.setPsk(otherId, { identity: 'fac-1', key: FACTORY_HEX }),
        (e: Error) => /factory bootstrap credential/i.test(e.message),
      );
      await assert.rejects(
        s.api.devices.setPsk(otherId, { identity: 'fac-1', bootstrap: true }),
        (e: Error) => /another device/i.test(e.message),
      );
    });

    it("another device's endpoint name with this factory identity is refused", async () => {
      const c = start(otherId, 'fac-1');
      await until('the refusal audited', async () =>
        (await reasons()).some((r) => r.includes('not the device this credential is bound to')),
      );
      await stopWakaama(c);
      assert.equal(await t.hub.services.devicePsks.identityOf(s.orgId, otherId), undefined);
    });

    it('an unknown bootstrap identity is refused at the handshake (auth.failed)', async () => {
      const c = start(deviceId, 'nobody-1');
      await new Promise((r) => setTimeout(r, 3000));
      await stopWakaama(c);
      assert.equal(await t.hub.services.devicePsks.identityOf(s.orgId, deviceId), undefined);
      assert.equal((await audits('lwm2m.bootstrap.started')).length, 0);
    });

    it('factory PSK → bootstrap → the client registers at the DM server with its new PSK', async () => {
      const c = start(deviceId, 'fac-1');
      await until(
        'the device online over DTLS',
        async () => (await s.api.devices.presence(deviceId)).online,
        40_000,
      );
      const identity = await t.hub.services.devicePsks.identityOf(s.orgId, deviceId);
      assert.match(identity ?? '', /^bw-/);
      const psk = await t.hub.services.devicePsks.resolve(identity!);
      assert.equal(psk?.key.length, 16);
      assert.notEqual(psk?.key.toString('hex'), FACTORY_HEX);
      const reg = await until('the registration audited', async () => {
        const a = (await s.api.audit.list({ action: 'lwm2m.registered', target: deviceId })).items;
        return a.length > 0 && a;
      });
      assert.equal(reg.length, 1);
      const fin = await audits('lwm2m.bootstrap.finished');
      assert.equal(fin.length, 1);
      assert.equal(at(fin[0], 'detail', 'newIdentity'), identity);
      assert.equal(at(fin[0], 'detail', 'via'), 'factory');
      assert.equal(await t.hub.services.bootstrapPsks.resolve('fac-1'), undefined);
      await stopWakaama(c);
    });

    it('the factory credential is refused from then on, with its reason audited', async () => {
      const c = start(deviceId, 'fac-1');
      await until('the refusal audited', async () =>
        (await reasons()).some((r) => r.includes('already exchanged')),
      );
      await stopWakaama(c);
      assert.equal((await audits('lwm2m.bootstrap.finished')).length, 1);
    });

    it('a device PSK may not bootstrap unless rotation was asked for', async () => {
      const identity = (await t.hub.services.devicePsks.identityOf(s.orgId, deviceId))!;
      const key = (await t.hub.services.devicePsks.resolve(identity))!.key.toString('hex');
      const c = start(deviceId, identity, key);
      await until('the refusal audited', async () =>
        (await reasons()).some((r) => r.includes('only after an operator asked for rotation')),
      );
      await stopWakaama(c);
      assert.equal(await t.hub.services.devicePsks.identityOf(s.orgId, deviceId), identity);
    });
  },
);

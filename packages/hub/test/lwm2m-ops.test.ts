/**
 * The LwM2M operations of decision 0043's 2026-12-07 amendment at the hub: queue mode (requests
 * held until the client's next message, dropped when the device is quarantined meanwhile) and
 * SenML CBOR Send with our scripted client (Wakaama has neither); Create, Delete and
 * Write-Attributes against Eclipse Wakaama; the API's permissions, refusals and bound. One hub;
 * the awake window is 1 s of the hub's fake clock. Every wait is bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSenmlCbor } from '@bulwark/core';
import { rejectsWith, setupOwner, startTestHub, PASSWORD, type TestHub } from './helpers.js';
import { at, startWakaama, stopWakaama, until, wakaama, type Client } from './lwm2m-helpers.js';
import { ScriptClient } from './lwm2m-script-client.js';

const { path: WAKAAMA, skip } = wakaama('lwm2mclient');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LwM2M operations: queue mode, SenML CBOR, Create/Delete/Write-Attributes, API', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let port: number;
  let channelId: string;
  const scripted: ScriptClient[] = [];

  const lwm2mDevice = async (name: string) => {
    const d = await s.api.devices.create({ name, type: 'meter', tags: ['lwm2m'] });
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    return d.id;
  };
  const scriptClient = async (id: string) => {
    const c = new ScriptClient(port, id, {
      '/3/0/0': 'Bulwark test',
      '/3/0/9': 80,
      '/3/0/14': '+00:00',
    });
    await c.open();
    scripted.push(c);
    return c;
  };
  const reported = async (id: string) => (await s.api.twins.get(id)).reported?.state;
  const wait = (id: string) => s.api.commands.wait(id, { timeoutMs: 15_000 });

  before(async () => {
    t = await startTestHub(['--lwm2m-port', '0', '--lwm2m-queue-awake-seconds', '1']);
    s = await setupOwner(t);
    port = t.hub.info.lwm2mPort!;
    channelId = (await s.api.channels.create({ name: 'lwm2m-ops' })).id;
  });
  after(async () => {
    for (const c of scripted) c.close();
    await t.close();
  });

  describe('queue mode and SenML CBOR (scripted client)', () => {
    let id: string;
    let c: ScriptClient;

    it('holds reads, commands and desired writes until the client next sends; presence stays online', async () => {
      id = await lwm2mDevice('sleepy');
      c = await scriptClient(id);
      assert.equal(await c.register('</1/0>,</3/0>', ['b=UQ']), '2.01');
      const r = await until('the first read', async () => {
        const st = await reported(id);
        return at(st, 'objects', '3', '0', '0') !== undefined && st;
      });
      assert.equal(at(r, 'lwm2m', 'queueMode'), true);
      assert.equal(typeof at(r, 'lwm2m', 'awakeUntil'), 'string');
      t.clock.advance(2000); // past the awake window: the client sleeps
      const read = await s.api.devices.lwm2mRead(id, { path: '/3/0/9' });
      await s.api.twins.patchDesired(id, { objects: { '3': { '0': { '14': '+01:00' } } } });
      await sleep(400);
      assert.equal((await s.api.commands.get(read.id)).state, 'queued');
      assert.ok(!c.seen.includes('GET /3/0/9'), c.seen.join(', '));
      assert.ok(!c.seen.includes('PUT /3/0/14'), c.seen.join(', '));
      assert.equal((await s.api.devices.presence(id)).online, true); // registered, asleep
      // Its next Update wakes it: what was held goes out.
      assert.equal(await c.update(), '2.04');
      const done = await wait(read.id);
      assert.equal(done.state, 'succeeded');
      assert.deepEqual(done.result, { '/3/0/9': 80 });
      await until('the held desired write', async () => c.seen.includes('PUT /3/0/14'));
      await until(
        'the write read back',
        async () => at(await reported(id), 'objects', '3', '0', '14') === '+01:00',
      );
    });

    it('a request held for a device that is then quarantined is never delivered', async () => {
      t.clock.advance(2000);
      const held = await s.api.devices.lwm2mOperate(id, { operation: 'execute', path: '/3/0/4' });
      await s.api.devices.update(id, { state: 'quarantined' });
      const failed = await until('the held Execute dropped', async () => {
        const x = await s.api.commands.get(held.id);
        return x.state === 'failed' && x;
      });
      assert.equal(failed.error?.code, 'lwm2m_access_changed');
      assert.equal(await c.update(), '4.04'); // the registration was cut
      assert.ok(!c.seen.includes('POST /3/0/4'), c.seen.join(', '));
      await s.api.devices.update(id, { state: 'active' });
    });

    it('takes a SenML CBOR Send into the channel; malformed CBOR is 4.00 and stores nothing', async () => {
      await s.api.twins.patchDesired(id, { lwm2m: { channel: channelId } });
      assert.equal(await c.register('</1/0>,</3/0>'), '2.01');
      await until('registered', async () => at(await reported(id), 'lwm2m', 'registered'));
      const pack = encodeSenmlCbor(
        [
          { path: '/3/0/9', value: 55 },
          { path: '/3/0/0', value: 'cbor maker' },
        ],
        '/3/0/',
      );
      assert.equal(await c.send(pack, 112), '2.04');
      const msg = await until('the CBOR Send in the channel', async () => {
        const page = await s.api.channels.messages(channelId, { name: `${id}/3/0/9` });
        return page.items[0];
      });
      assert.equal(msg.senml?.[0]?.v, 55);
      for (const bad of [
        Buffer.from([0x81, 0xa1]), // truncated
        Buffer.from([0xa1, 0x00, 0x61, 0x41]), // a map, not an array
        Buffer.from([0x81, 0xa2, 0x00, 0x61, 0x31, 0x18, 0x63, 0x01]), // unknown label 99
        Buffer.from([0x81, 0xa2, 0x00, 0x62, 0x2f, 0x78, 0x02, 0x01]), // a name that is no path
      ]) {
        assert.equal(await c.send(bad, 112), '4.00', bad.toString('hex'));
      }
      assert.equal(await c.send(pack, 60), '4.15'); // CBOR without the SenML format
      await sleep(200);
      const all = await s.api.channels.messages(channelId, {});
      assert.equal(all.items.length, 1, JSON.stringify(all.items.map((m) => m.senml)));
    });
  });

  describe('the API: permissions, another organization, bad input, the bound, audit', () => {
    it('reads need devices:read, changes devices:manage; another org gets 404', async () => {
      const id = await lwm2mDevice('api');
      const { key } = await s.owner.apiKeys.create({
        name: 'reader',
        permissions: ['devices:read'],
      });
      const reader = t.client(key);
      const r = await reader.devices.lwm2mRead(id, { path: '/3/0', discover: true });
      assert.equal(r.name, 'lwm2m.discover');
      assert.deepEqual(r.params, { path: '/3/0' });
      await rejectsWith(
        reader.devices.lwm2mOperate(id, { operation: 'delete', path: '/31024/1' }),
        'forbidden',
      );
      const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
      const login = await t
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
      const other = t.client(login.accessToken);
      await rejectsWith(other.devices.lwm2mRead(id, { path: '/3/0' }), 'not_found');
      await rejectsWith(
        other.devices.lwm2mOperate(id, { operation: 'execute', path: '/3/0/4' }),
        'not_found',
      );
      const plain = await s.api.devices.create({ name: 'mqtt-only', type: 'x' });
      await rejectsWith(
        s.api.devices.lwm2mRead(plain.id, { path: '/3/0' }),
        'lwm2m_device_required',
      );
      const audit = await s.api.audit.list({ action: 'lwm2mOperate' });
      assert.ok(audit.items.some((a) => a.result === 'failure' && a.targetId === id));
      const reads = await s.api.audit.list({ action: 'lwm2mRead' });
      assert.ok(
        reads.items.some((a) => a.result === 'success' && a.detail?.['commandId'] === r.id),
      );
    });

    it('refuses /0 and /1, bad paths and attributes before queuing anything', async () => {
      const id = await lwm2mDevice('refusals');
      const bad: Parameters<typeof s.api.devices.lwm2mOperate>[1][] = [
        { operation: 'create', path: '/1', values: { '1': 60 } },
        { operation: 'create', path: '/0', values: {} },
        { operation: 'delete', path: '/0/1' },
        { operation: 'delete', path: '/1/0' },
        { operation: 'write', path: '/1/0/1', value: 5 },
        { operation: 'create', path: '/31024/1', values: {} },
        { operation: 'delete', path: '/31024' },
        { operation: 'write', path: '/3/0', value: 1 },
        { operation: 'attributes', path: '/3/0/9', attributes: { pmin: 10, pmax: 5 } },
        { operation: 'attributes', path: '/3/0/9', attributes: { gt: 5, lt: 4, st: 1 } },
        { operation: 'attributes', path: '/3/0/9', attributes: { pmin: -1 } },
        { operation: 'attributes', path: '/3/0/9', attributes: {} },
      ];
      for (const b of bad) {
        await rejectsWith(s.api.devices.lwm2mOperate(id, b), 'validation_failed');
      }
      assert.equal((await s.api.commands.list(id)).items.length, 0);
    });

    it('at most 32 requests open per device: the 33rd is refused', async () => {
      const id = await lwm2mDevice('bounded');
      for (let i = 0; i < 32; i++) await s.api.devices.lwm2mRead(id, { path: `/3/0/${i}` });
      const e = await rejectsWith(
        s.api.devices.lwm2mRead(id, { path: '/3/0/0' }),
        'lwm2m_queue_full',
      );
      assert.equal(e.status, 429);
      // The generic command route is held to the same bound for lwm2m.* names.
      await rejectsWith(
        s.api.commands.send(id, { name: 'lwm2m.read', params: { path: '/3/0/1' } }),
        'lwm2m_queue_full',
      );
      // Canceling one makes room.
      const open = await s.api.commands.list(id, { limit: 1 });
      await s.api.commands.cancel(open.items[0]!.id);
      await s.api.devices.lwm2mRead(id, { path: '/3/0/0' });
    });
  });

  describe('Create, Delete and Write-Attributes (Wakaama lwm2mclient)', { skip }, () => {
    let client: Client | undefined;
    after(() => stopWakaama(client));

    it('creates an instance of /31024, reads it, writes attributes, deletes it', async () => {
      const id = await lwm2mDevice('wakaama-ops');
      client = startWakaama(WAKAAMA, { port, endpoint: id });
      await until('registered', async () => at(await reported(id), 'objects', '3', '0', '0'));
      const op = async (b: Parameters<typeof s.api.devices.lwm2mOperate>[1]) =>
        wait((await s.api.devices.lwm2mOperate(id, b)).id);
      const read = async (path: string) => wait((await s.api.devices.lwm2mRead(id, { path })).id);

      const created = await op({
        operation: 'create',
        path: '/31024',
        instance: 5,
        values: { '1': 7, '3': 1.5 },
      });
      assert.equal(created.state, 'succeeded', `${JSON.stringify(created.error)} ${client.out()}`);
      assert.equal(created.result?.['path'], '/31024/5');
      const got = await read('/31024/5');
      assert.equal(got.state, 'succeeded', JSON.stringify(got.error));
      assert.equal(got.result?.['/31024/5/1'], 7);
      assert.equal(got.result?.['/31024/5/3'], 1.5);

      const attrs = await op({
        operation: 'attributes',
        path: '/3/0/9',
        attributes: { pmin: 1, pmax: 30 },
      });
      assert.equal(attrs.state, 'succeeded', JSON.stringify(attrs.error));
      const disc = await wait(
        (await s.api.devices.lwm2mRead(id, { path: '/3/0/9', discover: true })).id,
      );
      assert.match(String(disc.result?.['links']), /pmin=1/);
      assert.match(String(disc.result?.['links']), /pmax=30/);

      // Desired attributes are written by the sync; a bad one is a twin error.
      await s.api.twins.patchDesired(id, {
        lwm2m: { attributes: { '/3/0/9': { pmin: 2, pmax: 20 }, '/3/0/7': { pmin: 5, pmax: 1 } } },
      });
      const errs = await until('the bad attributes as a twin error', async () => {
        const tw = await s.api.twins.get(id);
        const e = tw.reported?.errors ?? [];
        return e.some((x) => x.path === '/3/0/7') && e;
      });
      assert.match(errs.find((x) => x.path === '/3/0/7')!.message, /pmin must not exceed pmax/);
      const disc2 = await wait(
        (await s.api.devices.lwm2mRead(id, { path: '/3/0/9', discover: true })).id,
      );
      assert.match(String(disc2.result?.['links']), /pmin=2/);
      assert.match(String(disc2.result?.['links']), /pmax=20/);

      const missing = await op({ operation: 'delete', path: '/31024/99' });
      assert.equal(missing.state, 'failed');
      assert.equal(missing.error?.code, 'coap_4_04');
      const deleted = await op({ operation: 'delete', path: '/31024/5' });
      assert.equal(deleted.state, 'succeeded', JSON.stringify(deleted.error));
      const gone = await read('/31024/5');
      assert.equal(gone.state, 'failed');
      assert.equal(gone.error?.code, 'coap_4_04');
    });
  });
});

/**
 * LwM2M at the hub against a client we did not write: Eclipse Wakaama's `lwm2mclient` (plain
 * CoAP over UDP on loopback) registers as a Bulwark device; the server reads /3/0 into the twin,
 * writes desired values, observes into a channel, takes a Send, runs Reboot, and presence follows
 * de-registration and lifetime expiry. Every wait is bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { generate, parse } from 'coap-packet';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { at, startWakaama, stopWakaama, until, wakaama, type Client } from './lwm2m-helpers.js';

const { path: CLIENT, skip } = wakaama('lwm2mclient');

const startClient = (port: number, endpoint: string, lifetime = 300): Client =>
  startWakaama(CLIENT, { port, endpoint, lifetime });
const stop = stopWakaama;

/** One raw CoAP Register, for the refusals; resolves with the response code. */
function rawRegister(port: number, ep: string): Promise<string> {
  const sock = createSocket('udp4');
  return new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => {
      sock.close();
      reject(new Error('no answer to Register in 5 s'));
    }, 5000);
    sock.on('message', (m) => {
      clearTimeout(t);
      sock.close();
      resolve(parse(m).code);
    });
    sock.send(
      generate({
        code: '0.02',
        confirmable: true,
        messageId: 1,
        token: Buffer.from([1, 2]),
        options: [
          { name: 'Uri-Path', value: Buffer.from('rd') },
          { name: 'Uri-Query', value: Buffer.from(`ep=${ep}`) },
          { name: 'Uri-Query', value: Buffer.from('lwm2m=1.1') },
        ],
        payload: Buffer.from('</3/0>'),
      }),
      port,
      '127.0.0.1',
    );
  });
}

describe('LwM2M server (Wakaama lwm2mclient over plain CoAP)', { skip, timeout: 240_000 }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let port: number;
  let channelId: string;
  let deviceId: string;
  let client: Client | undefined;

  const twin = () => s.api.twins.get(deviceId);
  const reported = async () => (await twin()).reported?.state;
  const online = async () => (await s.api.devices.presence(deviceId)).online;

  before(async () => {
    t = await startTestHub(['--lwm2m-port', '0']);
    s = await setupOwner(t);
    port = t.hub.info.lwm2mPort!;
    channelId = (await s.api.channels.create({ name: 'lwm2m' })).id;
    const d = await s.api.devices.create({ name: 'wakaama', type: 'lwm2m', tags: ['lwm2m'] });
    deviceId = d.id;
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: deviceId,
      publish: true,
      subscribe: false,
    });
  });
  after(async () => {
    await stop(client);
    await t.close();
  });

  it('refuses an unknown endpoint and a device without the lwm2m tag (4.03, audited)', async () => {
    assert.equal(await rawRegister(port, 'no-such-device'), '4.03');
    const untagged = await s.api.devices.create({ name: 'plain', type: 'x' });
    assert.equal(await rawRegister(port, untagged.id), '4.03');
    const audit = await s.api.audit.list({ action: 'lwm2m.register.refused' });
    assert.equal(audit.items.length, 1);
    assert.equal(audit.items[0]!.result, 'failure');
    assert.equal(audit.items[0]!.targetId, untagged.id);
    assert.equal(await online(), false);
  });

  it('registers: presence online, the registration and a Read of /3/0 in the twin', async () => {
    client = startClient(port, deviceId);
    const r = await until('the /3/0 read in the twin', async () => {
      const st = await reported();
      return at(st, 'objects', '3', '0', '0') !== undefined && st;
    });
    assert.equal(at(r, 'lwm2m', 'registered'), true);
    assert.equal(at(r, 'lwm2m', 'endpoint'), deviceId);
    assert.equal(at(r, 'lwm2m', 'version'), '1.1');
    assert.ok((at(r, 'lwm2m', 'objects') as string[]).includes('/3/0'));
    const dev = at(r, 'objects', '3', '0');
    assert.equal(at(dev, '0'), 'Open Mobile Alliance');
    assert.equal(at(dev, '1'), 'Lightweight M2M Client');
    assert.equal(typeof at(dev, '9'), 'number'); // battery level, a TLV integer
    assert.equal(await online(), true);
  });

  it('writes a desired value to the device and reads it back', async () => {
    await s.api.twins.patchDesired(deviceId, { objects: { '3': { '0': { '14': '+05:00' } } } });
    const tw = await until('the written UTC offset read back', async () => {
      const x = await twin();
      return at(x.reported?.state, 'objects', '3', '0', '14') === '+05:00' && x;
    });
    assert.deepEqual(tw.delta, {});
    assert.equal(tw.reported!.desiredVersion, tw.desired.version);
  });

  it('a refused write is reported as a twin error, not dropped', async () => {
    // The Wakaama device object answers 4.00 to an offset that is not ±HH:MM.
    await s.api.twins.patchDesired(deviceId, { objects: { '3': { '0': { '14': 'nonsense' } } } });
    const tw = await until('the twin error', async () => {
      const x = await twin();
      return (x.reported?.errors.length ?? 0) > 0 && x;
    });
    assert.equal(tw.reported!.errors[0]!.path, '/3/0/14');
    assert.match(tw.reported!.errors[0]!.message, /coap_4_00/);
    await s.api.twins.patchDesired(deviceId, { objects: { '3': { '0': { '14': '+05:00' } } } });
  });

  it('an observed resource lands in the channel as SenML', async () => {
    await s.api.twins.patchDesired(deviceId, {
      lwm2m: { observe: ['/3/0/9'], channel: channelId },
    });
    await until('the observation', async () =>
      ((at(await reported(), 'lwm2m', 'observe') as string[] | undefined) ?? []).includes('/3/0/9'),
    );
    client!.say('change /3/0/9 42');
    const name = `${deviceId}/3/0/9`;
    const msg = await until(
      'the notification in the channel',
      async () => {
        const page = await s.api.channels.messages(channelId, { name });
        return page.items.find((m) => m.senml?.some((r) => r.v === 42));
      },
      30_000,
    );
    assert.equal(msg.protocol, 'coap');
    assert.equal(msg.subtopic, 'lwm2m');
  });

  it('the 1.1 Send operation (POST /dp) lands in the channel', async () => {
    const before = (await s.api.channels.messages(channelId, { name: `${deviceId}/3/0/0` })).items;
    assert.equal(before.length, 0);
    client!.say('send 0 /3/0/0');
    const msg = await until('the Send in the channel', async () => {
      const page = await s.api.channels.messages(channelId, { name: `${deviceId}/3/0/0` });
      return page.items[0];
    });
    assert.equal(msg.senml?.[0]?.vs, 'Open Mobile Alliance');
  });

  it('commands read, write, discover and execute any path; a refusal fails the command with its code', async () => {
    const run = async (name: string, params: Record<string, string | number>) =>
      s.api.commands.wait((await s.api.commands.send(deviceId, { name, params })).id, {
        timeoutMs: 15_000,
      });
    const read = await run('lwm2m.read', { path: '/3/0/1' });
    assert.equal(read.state, 'succeeded');
    assert.deepEqual(read.result, { '/3/0/1': 'Lightweight M2M Client' });
    const write = await run('lwm2m.write', { path: '/3/0/14', value: '+03:00' });
    assert.equal(write.state, 'succeeded');
    assert.deepEqual((await run('lwm2m.read', { path: '/3/0/14' })).result, {
      '/3/0/14': '+03:00',
    });
    // The twin shows what the command wrote (the delta then shows the desired value differs).
    await until(
      'the written value in the twin',
      async () => at(await reported(), 'objects', '3', '0', '14') === '+03:00',
    );
    const disc = await run('lwm2m.discover', { path: '/3/0' });
    assert.equal(disc.state, 'succeeded');
    assert.match(String(disc.result?.['links']), /<\/3\/0\/4>/);
    const bad = await run('lwm2m.execute', { path: '/3/0/0' }); // Manufacturer is not executable
    assert.equal(bad.state, 'failed');
    assert.match(bad.error?.code ?? '', /^coap_4_0[05]$/);
    const gone = await run('lwm2m.read', { path: '/999/0' });
    assert.equal(gone.state, 'failed');
    assert.equal(gone.error?.code, 'coap_4_04');
  });

  it('quarantine cuts the registration; re-registered, the quarantined device may not Send', async () => {
    await s.api.devices.update(deviceId, { state: 'quarantined' });
    await until('the cut', async () => at(await reported(), 'lwm2m', 'registered') === false);
    assert.equal(await online(), false);
    // The client's next Update gets 4.04 (Wakaama then wants a bootstrap server, which this
    // slice does not have): a restart registers again. Quarantine keeps the management plane
    // (policy.ts), so the registration is accepted …
    await stop(client);
    client = startClient(port, deviceId);
    await until(
      'registered again',
      async () => at(await reported(), 'lwm2m', 'registered') === true,
    );
    assert.equal(await online(), true);
    // … but channel data is closed: a Send lands nowhere.
    client.say('send 0 /3/0/1');
    await new Promise((r) => setTimeout(r, 3000));
    const page = await s.api.channels.messages(channelId, { name: `${deviceId}/3/0/1` });
    assert.equal(page.items.length, 0);
    await s.api.devices.update(deviceId, { state: 'active' });
    await until(
      'cut on release',
      async () => at(await reported(), 'lwm2m', 'registered') === false,
    );
    await stop(client);
    client = startClient(port, deviceId);
    await until(
      'registered after release',
      async () => at(await reported(), 'lwm2m', 'registered') === true,
    );
  });

  it('de-registration takes the device offline and the twin says unregistered', async () => {
    client!.say('quit');
    await until('the exit', async () => client!.proc.exitCode !== null, 10_000);
    await until('offline', async () => !(await online()));
    assert.equal(at(await reported(), 'lwm2m', 'registered'), false);
  });

  it('lifetime expiry takes the device offline', async () => {
    client = startClient(port, deviceId, 4);
    await until('online again', () => online());
    client.proc.kill('SIGKILL'); // gone without de-registering
    await client.exited;
    const start = Date.now();
    await until('offline after the lifetime', async () => !(await online()), 15_000);
    assert.ok(Date.now() - start >= 1000, 'not before the lifetime could pass');
    const audit = await s.api.audit.list({ action: 'lwm2m.deregistered' });
    assert.ok(audit.items.some((a) => (a.detail as { reason?: string })?.reason === 'expired'));
  });

  it('the reboot command executes /3/0/4 (the client exits ~5 s later)', async () => {
    client = startClient(port, deviceId);
    await until('online again', () => online());
    await until(
      'registered in the twin',
      async () => at(await reported(), 'lwm2m', 'registered') === true,
    );
    const cmd = await s.api.commands.send(deviceId, { name: 'reboot' });
    const done = await s.api.commands.wait(cmd.id, { timeoutMs: 20_000 });
    assert.equal(done.state, 'succeeded');
    const code = await Promise.race([
      client.exited,
      new Promise((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    assert.equal(code, 1);
  });
  it('a decommissioned device is cut and may not register again (4.03)', async () => {
    client = startClient(port, deviceId);
    await until('registered', async () => at(await reported(), 'lwm2m', 'registered') === true);
    const cuts = async () =>
      (await s.api.audit.list({ action: 'lwm2m.deregistered', target: deviceId })).items.filter(
        (a) => at(a.detail, 'reason') === 'cut',
      ).length;
    const before = await cuts(); // the quarantine test's two
    await s.api.devices.decommission(deviceId);
    await until('the cut', async () => (await cuts()) > before);
    await stop(client);
    assert.equal(await rawRegister(port, deviceId), '4.03');
    const audit = await s.api.audit.list({ action: 'lwm2m.register.refused', target: deviceId });
    assert.match(JSON.stringify(audit.items[0]?.detail), /decommissioned/);
  });
});

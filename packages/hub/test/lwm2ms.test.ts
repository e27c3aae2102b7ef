/**
 * LwM2M over DTLS-PSK at the hub against clients we did not write: Eclipse Wakaama's
 * `lwm2mclient-dtls` (tinydtls) registers with the PSK identity of its device; the server's own
 * requests (Read, Write, Observe) go back over the same association; a wrong key, another device's
 * endpoint and a removed key are refused or cut. libcoap's `coap-client-openssl` floods wrong-key
 * handshakes from one loopback address: they are `auth.failed` events and the source is throttled
 * while another address still completes its handshake. Every wait and loop is bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { DomainEvent } from '@bulwark/core';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { at, startWakaama, stopWakaama, until, wakaama, type Client } from './lwm2m-helpers.js';

const { path: CLIENT, skip: noWakaama } = wakaama('lwm2mclient-dtls');
const COAP = 'coap-client-openssl';
const coapPresent = spawnSync(COAP, ['-h']).error === undefined;
if (!coapPresent && process.env['CI'] === 'true') {
  it(`${COAP} is installed (required when CI=true)`, () =>
    assert.fail('apt-get install libcoap3-bin'));
}
const skip = noWakaama || (coapPresent ? false : `${COAP} not installed`);
const run = promisify(execFile);

/** 16 bytes: tinydtls takes at most 16; coap-client takes the key as text, Wakaama as hex. */
const KEY = 'psk-0123456789ab';
const HEX = Buffer.from(KEY).toString('hex');
/** Failed handshakes one address may make before it waits (a small --edge-failures-per-source). */
const THRESHOLD = 10;

/** The response codes coap-client logged (`v:1 t:ACK c:4.03 …`), empty when nothing came back. */
const codes = (out: string): string[] =>
  [...out.matchAll(/v:1 t:(?:ACK|CON|NON|RST) c:(\d\.\d\d)/g)]
    .map((m) => m[1]!)
    .filter((c) => c !== '0.00');

describe('LwM2M over DTLS-PSK (Wakaama lwm2mclient-dtls)', { skip, timeout: 180_000 }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let port: number;
  let channelId: string;
  let deviceId: string;
  let otherId: string;
  let client: Client | undefined;
  const events: DomainEvent[] = [];

  const twin = () => s.api.twins.get(deviceId);
  const reported = async () => (await twin()).reported?.state;
  const online = async (id = deviceId) => (await s.api.devices.presence(id)).online;
  const start = (o: { endpoint: string; identity: string; hexKey: string }) =>
    startWakaama(CLIENT, { port, endpoint: o.endpoint, psk: o });

  /** One coap-client-openssl request over DTLS; resolves with the codes it logged. */
  const coap = async (o: {
    identity: string;
    key: string;
    method: string;
    uri: string;
    payload?: string;
    from?: string;
    seconds?: number;
  }): Promise<string[]> => {
    const args = ['-v', '6', '-B', String(o.seconds ?? 3), '-m', o.method];
    if (o.from) args.push('-a', o.from);
    if (o.payload !== undefined) args.push('-e', o.payload);
    args.push('-u', o.identity, '-k', o.key, `coaps://127.0.0.1:${port}${o.uri}`);
    const r = await run(COAP, args, { timeout: 20_000 }).catch(
      (err: { stdout?: string; stderr?: string }) => ({
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );
    return codes(`${r.stdout}\n${r.stderr}`);
  };

  before(async () => {
    t = await startTestHub([
      '--lwm2ms-port',
      '0',
      '--lwm2ms-host',
      '127.0.0.1',
      '--edge-failures-per-source',
      String(THRESHOLD),
    ]);
    s = await setupOwner(t);
    port = t.hub.info.lwm2msPort!;
    t.hub.services.events.listen((e) => void events.push(e));
    channelId = (await s.api.channels.create({ name: 'lwm2ms' })).id;
    deviceId = (await s.api.devices.create({ name: 'waka-dtls', type: 'lwm2m', tags: ['lwm2m'] }))
      .id;
    otherId = (await s.api.devices.create({ name: 'other', type: 'lwm2m', tags: ['lwm2m'] })).id;
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: deviceId,
      publish: true,
      subscribe: false,
    });
    await s.api.devices.setPsk(deviceId, { identity: 'waka-1', key: HEX });
    await s.api.devices.setPsk(otherId, { identity: 'other-1', key: HEX });
  });
  after(async () => {
    await stopWakaama(client);
    await t.close();
  });

  it('runtime.json names the LwM2M DTLS port; plain LwM2M stays off', () => {
    assert.ok(port > 0);
    assert.equal(t.hub.info.lwm2mPort, null);
  });

  it('registers over DTLS: online, the registration and a Read of /3/0 in the twin', async () => {
    client = start({ endpoint: deviceId, identity: 'waka-1', hexKey: HEX });
    const r = await until('the /3/0 read in the twin', async () => {
      const st = await reported();
      return at(st, 'objects', '3', '0', '0') !== undefined && st;
    });
    assert.equal(at(r, 'lwm2m', 'registered'), true);
    assert.equal(at(r, 'lwm2m', 'endpoint'), deviceId);
    assert.equal(at(r, 'objects', '3', '0', '0'), 'Open Mobile Alliance');
    assert.equal(await online(), true);
    const audit = await s.api.audit.list({ action: 'lwm2m.registered', target: deviceId });
    assert.equal(audit.items.length, 1);
  });

  it('a desired value is written over the association and read back', async () => {
    await s.api.twins.patchDesired(deviceId, { objects: { '3': { '0': { '14': '+02:00' } } } });
    const tw = await until('the written UTC offset read back', async () => {
      const x = await twin();
      return at(x.reported?.state, 'objects', '3', '0', '14') === '+02:00' && x;
    });
    assert.deepEqual(tw.delta, {});
  });

  it('an observed resource lands in the channel as SenML', async () => {
    await s.api.twins.patchDesired(deviceId, {
      lwm2m: { observe: ['/3/0/9'], channel: channelId },
    });
    await until('the observation', async () =>
      ((at(await reported(), 'lwm2m', 'observe') as string[] | undefined) ?? []).includes('/3/0/9'),
    );
    client!.say('change /3/0/9 37');
    const msg = await until(
      'the notification in the channel',
      async () => {
        const page = await s.api.channels.messages(channelId, { name: `${deviceId}/3/0/9` });
        return page.items.find((m) => m.senml?.some((r) => r.v === 37));
      },
      30_000,
    );
    assert.equal(msg.subtopic, 'lwm2m');
  });

  it('an identity of one device naming another device’s endpoint is refused 4.03 and audited', async () => {
    // The precise answer, from libcoap: a Register of `otherId` under waka-1's key.
    const got = await coap({
      identity: 'waka-1',
      key: KEY,
      method: 'post',
      uri: `/rd?ep=${otherId}&lwm2m=1.1`,
      payload: '</3/0>',
    });
    assert.deepEqual(got, ['4.03']);
    // And Wakaama itself, with other-1's key naming the first device: never registered.
    const rogue = start({ endpoint: deviceId, identity: 'other-1', hexKey: HEX });
    try {
      await until('the refusal audited', async () => {
        const a = await s.api.audit.list({ action: 'lwm2m.register.refused', target: deviceId });
        return a.items.some((x) => /not device/.test(JSON.stringify(x.detail))) && a;
      });
    } finally {
      await stopWakaama(rogue);
    }
    assert.equal(await online(otherId), false);
    const refused = await s.api.audit.list({ action: 'lwm2m.register.refused', target: otherId });
    assert.equal(refused.items.length, 1);
    assert.equal(refused.items[0]!.result, 'failure');
    // The real client's registration was not touched by either attempt.
    assert.equal(at(await reported(), 'lwm2m', 'registered'), true);
  });

  it('removing the device’s PSK ends its registration at once', async () => {
    await s.api.devices.removePsk(deviceId);
    await until('the cut', async () => at(await reported(), 'lwm2m', 'registered') === false);
    assert.equal(await online(), false);
    const cut = await s.api.audit.list({ action: 'lwm2m.deregistered', target: deviceId });
    assert.equal(at(cut.items[0]?.detail, 'reason'), 'cut');
    await stopWakaama(client);
    client = undefined;
  });

  it('a wrong key never registers and is an auth.failed event', async () => {
    await s.api.devices.setPsk(deviceId, { identity: 'waka-1', key: HEX });
    const before = events.length;
    const wrong = start({ endpoint: deviceId, identity: 'waka-1', hexKey: 'ff'.repeat(16) });
    try {
      await until('the failed handshake', async () =>
        events
          .slice(before)
          .some(
            (e) => e.type === 'auth.failed' && e.subject === 'psk:waka-1' && e.orgId === s.orgId,
          ),
      );
      assert.equal(await online(), false);
      assert.notEqual(at(await reported(), 'lwm2m', 'registered'), true);
    } finally {
      await stopWakaama(wrong);
    }
  });

  it('a flood of wrong-key handshakes from one address is throttled; another address still gets in', async () => {
    const flood = '127.0.0.3';
    const failed = () =>
      events.filter((e) => e.type === 'auth.failed' && e.source === flood && e.reason !== 'locked');
    const startedAt = Date.now();
    // Bounded: THRESHOLD + 2 handshakes, each at most 3 s (-B); 'nobody' is an unknown identity.
    for (let i = 0; i < THRESHOLD + 2; i++) {
      const identity = i % 2 === 0 ? 'waka-1' : 'nobody';
      assert.deepEqual(
        await coap({ identity, key: 'not-the-key-0000', method: 'get', uri: '/rd', from: flood }),
        [],
      );
    }
    assert.ok(Date.now() - startedAt < 60_000);
    // Every attempt up to the threshold was an auth.failed event; the rest were never looked at.
    assert.equal(failed().length, THRESHOLD);
    assert.ok(failed().some((e) => e.type === 'auth.failed' && e.subject === 'psk:nobody'));
    assert.ok(
      events.some((e) => e.type === 'auth.failed' && e.source === flood && e.reason === 'locked'),
    );
    // The right key from the throttled address gets no handshake during the cool-down …
    assert.deepEqual(
      await coap({ identity: 'waka-1', key: KEY, method: 'get', uri: '/rd', from: flood }),
      [],
    );
    // … while another address completes its handshake and reaches the LwM2M server (4.05: GET).
    assert.deepEqual(
      await coap({ identity: 'waka-1', key: KEY, method: 'get', uri: '/rd', from: '127.0.0.1' }),
      ['4.05'],
    );
    // And a real client from that address registers.
    client = start({ endpoint: deviceId, identity: 'waka-1', hexKey: HEX });
    await until(
      'registered again',
      async () => at(await reported(), 'lwm2m', 'registered') === true,
    );
  });
});

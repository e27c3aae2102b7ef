/**
 * CoAP over DTLS at the hub (decision 0041): libcoap's coap-client-openssl posts SenML with a PSK
 * whose identity names a device; the one admission rule decides at every request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const CLIENT = 'coap-client-openssl';
const present = spawnSync(CLIENT, ['-h']).error === undefined;
if (!present && process.env['CI'] === 'true') {
  it(`${CLIENT} is installed (required when CI=true)`, () =>
    assert.fail('apt-get install libcoap3-bin'));
}
const skip = present ? false : `${CLIENT} not installed (apt-get install libcoap3-bin)`;
const run = promisify(execFile);
const KEY = 'psk-0123456789ab'; // coap-client takes -k as text: 16 ASCII bytes

/** The response codes coap-client logged (`v:1 t:ACK c:2.04 …`), empty when there was no exchange. */
const codes = (out: string): string[] =>
  [...out.matchAll(/v:1 t:(?:ACK|CON|NON) c:(\d\.\d\d)/g)]
    .map((m) => m[1]!)
    .filter((c) => c !== '0.00');

describe('CoAP over DTLS at the hub (coap-client-openssl, PSK)', { skip }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let dev: { id: string };
  const failures: string[] = [];

  const post = async (identity: string, key: string, payload: string): Promise<string[]> => {
    const r = await run(
      CLIENT,
      [
        '-v',
        '6',
        '-B',
        '5',
        '-m',
        'post',
        '-t',
        '110',
        '-u',
        identity,
        '-k',
        key,
        '-e',
        payload,
        `coaps://127.0.0.1:${t.hub.info.coapsPort}/channels/${channelId}/messages/lab`,
      ],
      { timeout: 20_000 },
    );
    return codes(`${r.stdout}\n${r.stderr}`);
  };
  const stored = async (name: string): Promise<number> =>
    (await s.api.channels.messages(channelId, { name })).items.length;

  before(async () => {
    t = await startTestHub(['--coaps-port', '0', '--coaps-host', '127.0.0.1']);
    s = await setupOwner(t);
    t.hub.services.events.listen((e) => {
      if (e.type === 'auth.failed' && e.credential === 'psk') failures.push(`${e.subject}`);
    });
    channelId = (await s.api.channels.create({ name: 'coaps' })).id;
    const d = await s.api.devices.create({ name: 'coaps-node', type: 'nrf52' });
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    dev = { id: d.id };
    await t.hub.services.devicePsks.set(s.orgId, d.id, {
      identity: 'node-7',
      key: Buffer.from(KEY),
    });
  });
  after(() => t.close());

  it('runtime.json names the DTLS port; the plain CoAP port stays off', () => {
    assert.ok((t.hub.info.coapsPort ?? 0) > 0);
    assert.equal(t.hub.info.coapPort, null);
  });

  it('SenML posted over DTLS-PSK lands in the channel as the identity’s device', async () => {
    assert.deepEqual(await post('node-7', KEY, '[{"n":"urn:dtls:t","v":7}]'), ['2.04']);
    const page = await s.api.channels.messages(channelId, { name: 'urn:dtls:t' });
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]!.protocol, 'coap');
    assert.equal(page.items[0]!.subtopic, 'lab');
  });

  it('a wrong key and an unknown identity never reach CoAP; nothing is stored', async () => {
    assert.deepEqual(await post('node-7', 'not-the-key-0000', '[{"n":"urn:dtls:w","v":1}]'), []);
    assert.deepEqual(await post('nobody', KEY, '[{"n":"urn:dtls:w","v":1}]'), []);
    assert.equal(await stored('urn:dtls:w'), 0);
    // Both handshakes are refused credentials, like a wrong MQTT password (decision 0041).
    assert.deepEqual(failures.slice(0, 2), ['psk:node-7', 'psk:nobody']);
  });

  it('a quarantined device is refused (4.03) though its key is right', async () => {
    await s.api.devices.update(dev.id, { state: 'quarantined' });
    try {
      assert.deepEqual(await post('node-7', KEY, '[{"n":"urn:dtls:q","v":1}]'), ['4.03']);
      assert.equal(await stored('urn:dtls:q'), 0);
    } finally {
      await s.api.devices.update(dev.id, { state: 'active' });
    }
  });

  it('a replaced key: the old one fails the handshake, the new one works', async () => {
    const next = 'psk-fedcba987654';
    await t.hub.services.devicePsks.set(s.orgId, dev.id, {
      identity: 'node-7',
      key: Buffer.from(next),
    });
    assert.deepEqual(await post('node-7', KEY, '[{"n":"urn:dtls:r","v":1}]'), []);
    assert.deepEqual(await post('node-7', next, '[{"n":"urn:dtls:r","v":2}]'), ['2.04']);
    assert.equal(await stored('urn:dtls:r'), 1);
  });

  it('an identity belongs to one device: another device cannot take it', async () => {
    const other = await s.api.devices.create({ name: 'other', type: 'nrf52' });
    await assert.rejects(s.api.devices.setPsk(other.id, { identity: 'node-7' }), /another device/);
    // A key the hub makes is 16 random bytes; a short one is refused by the schema.
    const made = await s.api.devices.setPsk(other.id, { identity: 'other-1' });
    assert.match(made.key, /^[0-9a-f]{32}$/);
    await assert.rejects(s.api.devices.setPsk(other.id, { identity: 'x', key: '00' }));
    await assert.rejects(s.api.devices.setPsk(other.id, { identity: 'bad id' }));
  });

  it('a removed key: the identity is unknown again', async () => {
    await s.api.devices.removePsk(dev.id);
    assert.deepEqual(await post('node-7', 'psk-fedcba987654', '[{"n":"urn:dtls:x","v":1}]'), []);
    assert.equal(await stored('urn:dtls:x'), 0);
    await assert.rejects(s.api.devices.removePsk(dev.id), /no pre-shared key/);
  });
});

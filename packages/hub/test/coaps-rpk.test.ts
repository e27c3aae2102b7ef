/**
 * CoAP over DTLS with raw public keys (RFC 7250; decision 0041, 2026-12-07): libcoap's
 * coap-client-gnutls (`-M`, a DTLS implementation we did not write) authenticates with a P-256 key
 * pinned to its device through the API; an unpinned key is refused and counted; a removed pin
 * refuses the next request and handshake.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ApiError } from '@bulwark/sdk';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { codes, keyDir, libcoapClient, rpkKeyPair } from './dtls-client-fixtures.js';

const CLIENT = 'coap-client-gnutls';
const { skip } = libcoapClient(CLIENT);
const run = promisify(execFile);
const keys = keyDir('bulwark-coaps-rpk-');
const keyPair = (name: string) => rpkKeyPair(keys, name);

const status = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
};

/** Failed authentications one address may make a minute before it waits. */
const FAILURES = 3;

describe('CoAP over DTLS at the hub with raw public keys (coap-client-gnutls -M)', { skip }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let deviceId: string;
  let pair: { keyFile: string; publicPem: string };
  const failures: { reason: string; subject: string | null }[] = [];

  const args = (keyFile: string, from?: string): string[] => [
    ...(from ? ['-a', from] : []),
    ...['-v', '6', '-B', from ? '2' : '5', '-M', keyFile],
    `coaps://127.0.0.1:${t.hub.info.coapsPort}/channels/${channelId}/messages/lab`,
  ];
  const post = async (keyFile: string, name: string, from?: string): Promise<string[]> => {
    const r = await run(
      CLIENT,
      ['-m', 'post', '-t', '110', '-e', `[{"n":"${name}","v":1}]`, ...args(keyFile, from)],
      { timeout: 20_000 },
    );
    return codes(`${r.stdout}\n${r.stderr}`);
  };
  const stored = async (name: string): Promise<number> =>
    (await s.api.channels.messages(channelId, { name })).items.length;

  before(async () => {
    t = await startTestHub([
      ...['--coaps-port', '0', '--coaps-host', '127.0.0.1'],
      ...['--edge-failures-per-source', String(FAILURES)],
    ]);
    s = await setupOwner(t);
    t.hub.services.events.listen((e) => {
      if (e.type === 'auth.failed' && e.transport === 'coap' && e.credential === 'rpk')
        failures.push({ reason: e.reason, subject: e.subject });
    });
    channelId = (await s.api.channels.create({ name: 'coaps-rpk' })).id;
    deviceId = (await s.api.devices.create({ name: 'rpk-node', type: 'nrf52' })).id;
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: deviceId,
      publish: true,
      subscribe: true,
    });
    pair = keyPair('node');
  });
  after(async () => {
    await t.close();
    keys.remove();
  });

  it('an unpinned key is refused at the handshake (auth.failed), nothing stored', async () => {
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:unpinned'), []);
    assert.equal(await stored('urn:rpk:unpinned'), 0);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.reason, 'unknown');
    assert.match(failures[0]!.subject ?? '', /^rpk:[0-9a-f]{64}$/);
  });

  it('pinned through the API: SenML posted with the key is stored as the device', async () => {
    const pin = await s.api.devices.setRpk(deviceId, pair.publicPem);
    assert.match(pin.fingerprint, /^[0-9a-f]{64}$/);
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:t'), ['2.04']);
    const page = await s.api.channels.messages(channelId, { name: 'urn:rpk:t' });
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]!.protocol, 'coap');
    assert.deepEqual(page.items[0]!.publisher, { type: 'device', id: deviceId });
  });

  it('provisioning: bad keys 400, a key pinned to another device 409, another org 404', async () => {
    assert.equal(await status(s.api.devices.setRpk(deviceId, 'not a key')), 400);
    const privatePem = readFileSync(pair.keyFile, 'utf8'); // a private key is never taken
    assert.equal(await status(s.api.devices.setRpk(deviceId, privatePem)), 400);
    const rsa = execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:1024',
    ]).toString();
    const rsaPub = execFileSync('openssl', ['pkey', '-pubout'], { input: rsa }).toString();
    assert.equal(await status(s.api.devices.setRpk(deviceId, rsaPub)), 400);
    const other = (await s.api.devices.create({ name: 'rpk-other', type: 'nrf52' })).id;
    assert.equal(await status(s.api.devices.setRpk(other, pair.publicPem)), 409);
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const login = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const api2 = t.client(login.accessToken);
    assert.equal(await status(api2.devices.setRpk(deviceId, keyPair('x').publicPem)), 404);
    assert.equal(await status(api2.devices.removeRpk(deviceId)), 404);
    // Still our device's key, and it still posts.
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:still'), ['2.04']);
  });

  it('a quarantined device is refused (4.03) though its key is pinned', async () => {
    await s.api.devices.update(deviceId, { state: 'quarantined' });
    try {
      assert.deepEqual(await post(pair.keyFile, 'urn:rpk:q'), ['4.03']);
      assert.equal(await stored('urn:rpk:q'), 0);
    } finally {
      await s.api.devices.update(deviceId, { state: 'active' });
    }
  });

  it('removing the pin ends an open observation (4.01) and refuses the next handshake; audited', async () => {
    const pin = await s.api.devices.setRpk(deviceId, pair.publicPem); // the same key again
    const obs = spawn(CLIENT, ['-s', '10', ...args(pair.keyFile)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    obs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    obs.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<void>((r) => obs.once('close', () => r()));
    try {
      for (let i = 0; i < 10 && !out.includes('urn:rpk:live'); i++) {
        await new Promise((r) => setTimeout(r, 300));
        await post(pair.keyFile, 'urn:rpk:live');
      }
      assert.match(out, /urn:rpk:live/, 'the observation is registered');
      await s.api.devices.removeRpk(deviceId);
      for (let i = 0; i < 30 && !/4\.01 /.test(out); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /4\.01 /, 'the observation ends with 4.01 on the open association');
    } finally {
      obs.kill();
      await closed;
    }
    const before = failures.length;
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:removed'), []);
    assert.equal(await stored('urn:rpk:removed'), 0);
    assert.equal(failures.length, before + 1);
    const audited = async (action: string) =>
      (await s.api.audit.list({ action, target: deviceId, limit: 10 })).items
        .filter((e) => e.result === 'success')
        .map((e) => e.detail?.['fingerprint'] ?? null);
    assert.deepEqual(await audited('setDeviceRpk'), [pin.fingerprint, pin.fingerprint]);
    assert.deepEqual(await audited('removeDeviceRpk'), [null]);
  });

  it('unpinned keys from one address: throttled after the limit; another address still gets in', async () => {
    const flood = '127.0.0.5';
    const stranger = keyPair('stranger');
    const before = failures.length;
    for (let i = 0; i <= FAILURES; i++)
      assert.deepEqual(await post(stranger.keyFile, 'urn:rpk:f', flood), []);
    // FAILURES refusals by admission; the next hello is dropped unread.
    assert.deepEqual(
      failures.slice(before).map((f) => f.reason),
      [...Array<string>(FAILURES).fill('unknown')],
    );
    await s.api.devices.setRpk(deviceId, pair.publicPem);
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:f', flood), []);
    assert.deepEqual(await post(pair.keyFile, 'urn:rpk:f'), ['2.04']);
    assert.equal(await stored('urn:rpk:f'), 1);
  });
});

/**
 * CoAP over DTLS with X.509 device certificates (decision 0041, 2026-12-07): libcoap's
 * coap-client-openssl authenticates with the certificate its device enrolled for (ECDHE-ECDSA);
 * the one admission rule judges it at the handshake and at every request, as MQTT's mutual TLS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import {
  codes,
  enrollCertificate,
  keyDir,
  libcoapClient,
  type EnrolledCert as Cred,
} from './dtls-client-fixtures.js';

const CLIENT = 'coap-client-openssl';
const { skip } = libcoapClient(CLIENT);
/** libcoap on GnuTLS: a second DTLS implementation we did not write. */
const GNUTLS = 'coap-client-gnutls';
const gnutls = libcoapClient(GNUTLS).present;
const run = promisify(execFile);
const keys = keyDir('bulwark-coaps-cert-');
const tmp = keys.dir;
const file = keys.file;

/** Failed authentications one address may make a minute before it waits. */
const FAILURES = 3;

describe('CoAP over DTLS at the hub (coap-client-openssl, device certificates)', { skip }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let ca: string;
  const failures: string[] = [];

  /** A device of the organization `api` manages, connected to `channel`, enrolled for a certificate. */
  const enrolled = async (
    api: Awaited<ReturnType<typeof setupOwner>>['api'],
    name: string,
    channel: string,
  ): Promise<Cred> => {
    const d = await api.devices.create({ name, type: 'nrf52' });
    await api.channels.connect(channel, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    return enrollCertificate(t, api, d.id, keys, name);
  };

  const args = (c: Pick<Cred, 'cert' | 'key'>, channel = channelId, from?: string): string[] => [
    ...(from ? ['-a', from] : []),
    '-v',
    '6',
    '-B',
    from ? '2' : '5',
    '-c',
    c.cert,
    '-j',
    c.key,
    '-R',
    ca,
    `coaps://127.0.0.1:${t.hub.info.coapsPort}/channels/${channel}/messages/lab`,
  ];
  const post = async (
    c: Pick<Cred, 'cert' | 'key'>,
    payload: string,
    channel = channelId,
    from?: string,
    client = CLIENT,
  ) => {
    const r = await run(
      client,
      ['-m', 'post', '-t', '110', '-e', payload, ...args(c, channel, from)],
      { timeout: 20_000 },
    );
    return codes(`${r.stdout}\n${r.stderr}`);
  };
  const stored = async (name: string): Promise<number> =>
    (await s.api.channels.messages(channelId, { name })).items.length;

  let dev: Cred;
  /** A self-signed P-256 certificate claiming our organization and device. */
  const selfSigned = (): { cert: string; key: string } => {
    const key = join(tmp, 'self.key');
    const cert = join(tmp, 'self.pem');
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/O=${s.orgId}/CN=${dev.deviceId}`,
    ]);
    return { cert, key };
  };
  before(async () => {
    t = await startTestHub([
      '--coaps-port',
      '0',
      '--coaps-host',
      '127.0.0.1',
      '--edge-failures-per-source',
      String(FAILURES),
    ]);
    s = await setupOwner(t);
    ca = file('hub-ca.pem', t.ca);
    t.hub.services.events.listen((e) => {
      if (e.type === 'auth.failed' && e.transport === 'coap' && e.credential === 'certificate')
        failures.push(e.reason);
    });
    channelId = (await s.api.channels.create({ name: 'coaps-cert' })).id;
    dev = await enrolled(s.api, 'cert-node', channelId);
  });
  after(async () => {
    await t.close();
    keys.remove();
  });

  it('SenML posted with the enrolled certificate lands in the channel as its device', async () => {
    assert.deepEqual(await post(dev, '[{"n":"urn:cert:t","v":7}]'), ['2.04']);
    const page = await s.api.channels.messages(channelId, { name: 'urn:cert:t' });
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]!.protocol, 'coap');
    assert.deepEqual(page.items[0]!.publisher, { type: 'device', id: dev.deviceId });
  });

  it(
    'GnuTLS (coap-client-gnutls) with the same certificate: 2.04, stored',
    { skip: !gnutls },
    async () => {
      assert.deepEqual(
        await post(dev, '[{"n":"urn:cert:gnutls","v":1}]', channelId, undefined, GNUTLS),
        ['2.04'],
      );
      assert.equal(await stored('urn:cert:gnutls'), 1);
    },
  );

  it('GET with observe: the device is told of a message posted after it registered', async () => {
    const obs = spawn(CLIENT, ['-s', '6', ...args(dev)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    obs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<void>((r) => obs.once('close', () => r()));
    try {
      for (let i = 0; i < 10 && !out.includes('urn:cert:obs'); i++) {
        await new Promise((r) => setTimeout(r, 300));
        await post(dev, '[{"n":"urn:cert:obs","v":1}]');
      }
      assert.match(out, /urn:cert:obs/);
    } finally {
      obs.kill();
      await closed;
    }
  });

  it('a self-signed certificate naming the organization and device is refused at the handshake', async () => {
    const { cert, key } = selfSigned();
    const before = failures.length;
    assert.deepEqual(await post({ cert, key }, '[{"n":"urn:cert:self","v":1}]'), []);
    assert.equal(await stored('urn:cert:self'), 0);
    assert.deepEqual(failures.slice(before), ['unknown']);
  });

  it('a quarantined device is refused (4.03) though its certificate is good', async () => {
    await s.api.devices.update(dev.deviceId, { state: 'quarantined' });
    try {
      assert.deepEqual(await post(dev, '[{"n":"urn:cert:q","v":1}]'), ['4.03']);
      assert.equal(await stored('urn:cert:q'), 0);
    } finally {
      await s.api.devices.update(dev.deviceId, { state: 'active' });
    }
  });

  it("another organization's device certificate reaches nothing of this organization", async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const login = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const api2 = t.client(login.accessToken);
    const ch2 = (await api2.channels.create({ name: 'theirs' })).id;
    const theirs = await enrolled(api2, 'their-node', ch2);
    // Its own organization's channel: fine; ours: refused, nothing stored.
    assert.deepEqual(await post(theirs, '[{"n":"urn:cert:o2","v":1}]', ch2), ['2.04']);
    const refused = await post(theirs, '[{"n":"urn:cert:o","v":1}]');
    assert.equal(refused.length, 1);
    assert.match(refused[0]!, /^4\.0[34]$/);
    assert.equal(await stored('urn:cert:o'), 0);
  });

  it('revoking the certificate ends an open observation (4.01) and refuses the next handshake', async () => {
    const obs = spawn(CLIENT, ['-s', '10', ...args(dev)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    obs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    obs.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<void>((r) => obs.once('close', () => r()));
    try {
      for (let i = 0; i < 10 && !out.includes('urn:cert:live'); i++) {
        await new Promise((r) => setTimeout(r, 300));
        await post(dev, '[{"n":"urn:cert:live","v":1}]');
      }
      assert.match(out, /urn:cert:live/, 'the observation is registered');
      const before = failures.length;
      await s.api.devices.revokeCertificate(dev.deviceId, dev.serial, 'keyCompromise');
      for (let i = 0; i < 30 && !/4\.01 /.test(out); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /4\.01 /, 'the observation ends with 4.01 on the open association');
      assert.deepEqual(await post(dev, '[{"n":"urn:cert:r","v":1}]'), []);
      assert.equal(await stored('urn:cert:r'), 0);
      assert.deepEqual(failures.slice(before), ['revoked']);
    } finally {
      obs.kill();
      await closed;
    }
  });

  it('self-signed certificates from one address: throttled after the limit; another address still gets in', async () => {
    const flood = '127.0.0.4';
    const forged = selfSigned();
    const before = failures.length;
    for (let i = 0; i <= FAILURES; i++)
      assert.deepEqual(await post(forged, '[{"n":"urn:cert:f","v":1}]', channelId, flood), []);
    // FAILURES refusals by admission; the next hello is dropped unread (its `locked` event names
    // credential psk: a dropped hello is not looked into), so no fourth certificate refusal.
    assert.deepEqual(failures.slice(before), [...Array<string>(FAILURES).fill('unknown')]);
    const good = await enrolled(s.api, 'cert-node-2', channelId);
    assert.deepEqual(await post(good, '[{"n":"urn:cert:f","v":2}]', channelId, flood), []);
    assert.deepEqual(await post(good, '[{"n":"urn:cert:f","v":3}]'), ['2.04']);
    assert.equal(await stored('urn:cert:f'), 1);
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, connectWs, nextMessages, publish, subscribe } from './mqtt-helpers.js';

const SENML = 'application/senml+json';

describe('messaging: channels, ingest on every protocol, storage and queries', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const devices: Record<string, { id: string; key: string; cert?: string; keyPem?: string }> = {};

  async function device(
    name: string,
    rights: { publish: boolean; subscribe: boolean },
    withCert = false,
  ) {
    const d = await s.api.devices.create({ name, type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'device', clientId: d.id, ...rights },
    });
    const entry: { id: string; key: string; cert?: string; keyPem?: string } = { id: d.id, key };
    if (withCert) {
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      const k = await generateDeviceKeyAndCsr();
      entry.cert = (await t.client().enroll({ token, csr: k.csrPem })).certificate;
      entry.keyPem = k.keyPem;
    }
    devices[name] = entry;
    return entry;
  }
  const caFile = () => t.hub.info.caFile;
  const basic = (d: { id: string; key: string }) =>
    `Basic ${Buffer.from(`${d.id}:${d.key}`).toString('base64')}`;
  const ingest = (path: string, body: string | Buffer, headers: Record<string, string>) =>
    t.fetchWith()(`${t.url}/api/v1${path}`, { method: 'POST', headers, body });

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'telemetry' } })).id;
    await device('sensor', { publish: true, subscribe: false }, true);
    await device('display', { publish: false, subscribe: true });
    await device('stranger', { publish: false, subscribe: false });
  });
  after(() => t.close());

  it('creates channels with unique names and lists connections', async () => {
    await rejectsWith(
      s.api.call('createChannel', { body: { name: 'telemetry' } }),
      'channel_name_taken',
    );
    const conns = await s.api.call('listConnections', { params: { id: channelId } });
    assert.equal(conns.length, 3);
    // Each client's name comes with the list (the console shows names, not bare ids).
    assert.deepEqual(conns.map((c) => c.clientName).sort(), ['display', 'sensor', 'stranger']);
    const [key] = await s.api.apiKeys.list();
    await s.api.channels.connect(channelId, {
      clientType: 'api_key',
      clientId: key!.id,
      publish: false,
      subscribe: true,
    });
    const withKey = await s.api.channels.connections(channelId);
    assert.equal(withKey.find((c) => c.clientType === 'api_key')?.clientName, key!.name);
    await s.api.channels.disconnect(channelId, 'api_key', key!.id);
  });

  it('HTTP ingest with a device key stores the message before answering 202, SenML resolved', async () => {
    const body = JSON.stringify([
      { bn: 'urn:dev:sensor:', bt: 1.7e9, n: 'temp', u: 'Cel', v: 21.5 },
      { n: 'hum', u: '%RH', v: 40, t: 1 },
    ]);
    const res = await ingest(`/channels/${channelId}/messages/room1`, body, {
      authorization: basic(devices['sensor']!),
      'content-type': SENML,
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const page = await s.api.call('listMessages', {
      params: { id: channelId },
      query: { name: 'urn:dev:sensor:temp' },
    });
    const m = page.items.find((x) => x.id === id);
    assert.ok(m, 'stored before the 202');
    assert.equal(m.subtopic, 'room1');
    assert.equal(m.protocol, 'http');
    assert.deepEqual(m.senml?.[0], { n: 'urn:dev:sensor:temp', u: 'Cel', v: 21.5, t: 1.7e9 });
    assert.equal(Buffer.from(m.payload, 'base64').toString(), body);
  });

  it('refuses invalid SenML, a device not connected for publishing, and oversize payloads — storing nothing', async () => {
    const before = (
      await s.api.call('listMessages', { params: { id: channelId }, query: { limit: 500 } })
    ).items.length;
    const bad = await ingest(`/channels/${channelId}/messages`, '[{"n":"x"}]', {
      authorization: basic(devices['sensor']!),
      'content-type': SENML,
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'senml_invalid');
    const denied = await ingest(`/channels/${channelId}/messages`, 'x', {
      authorization: basic(devices['display']!),
      'content-type': 'text/plain',
    });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { code: string }).code, 'not_authorized');
    const wrongKey = await ingest(`/channels/${channelId}/messages`, 'x', {
      authorization: basic({ id: devices['sensor']!.id, key: 'bwd_nope' }),
    });
    assert.equal(wrongKey.status, 401);
    const big = await ingest(`/channels/${channelId}/messages`, Buffer.alloc(300 * 1024), {
      authorization: basic(devices['sensor']!),
      'content-type': 'application/octet-stream',
    });
    assert.equal(big.status, 413);
    const after_ = (
      await s.api.call('listMessages', { params: { id: channelId }, query: { limit: 500 } })
    ).items.length;
    assert.equal(after_, before);
  });

  it('HTTP ingest over mutual TLS with the device certificate', async () => {
    const d = devices['sensor']!;
    const res = await t.fetchWith({ cert: d.cert!, key: d.keyPem! })(
      `${t.url}/api/v1/channels/${channelId}/messages`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello over mTLS',
      },
    );
    assert.equal(res.status, 202);
  });

  it('a message published over HTTP reaches MQTT subscribers over TLS and WebSocket', async () => {
    const display = await connectTls(t, {
      clientId: devices['display']!.id,
      username: devices['display']!.id,
      password: devices['display']!.key,
    });
    const { key: appKey, apiKey } = await s.api.apiKeys.create({
      name: 'dashboard',
      permissions: ['devices:read'],
    });
    await s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'api_key', clientId: apiKey.id, publish: false, subscribe: true },
    });
    const app = await connectWs(t, { username: 'app', password: appKey });
    try {
      assert.deepEqual(await subscribe(display, `channels/${channelId}/messages/#`), [1]);
      assert.deepEqual(await subscribe(app, `channels/${channelId}/messages/#`), [1]);
      const gotTls = nextMessages(display);
      const gotWs = nextMessages(app);
      const res = await ingest(`/channels/${channelId}/messages/kitchen`, 'cross-protocol', {
        authorization: basic(devices['sensor']!),
        'content-type': 'text/plain',
      });
      assert.equal(res.status, 202);
      for (const got of [await gotTls, await gotWs]) {
        assert.equal(got[0]!.topic, `channels/${channelId}/messages/kitchen`);
        assert.equal(got[0]!.payload.toString(), 'cross-protocol');
        assert.equal(got[0]!.contentType, 'text/plain');
      }
    } finally {
      display.end(true);
      app.end(true);
    }
  });

  it('MQTT publish with the device certificate: PUBACK only after storage; denied topics get 0x87', async () => {
    const d = devices['sensor']!;
    const c = await connectTls(t, { clientId: d.id, cert: d.cert!, key: d.keyPem! });
    try {
      const body = JSON.stringify([{ n: 'urn:dev:sensor:temp', v: 23, t: 1.7e9 + 60 }]);
      assert.equal(
        await publish(c, `channels/${channelId}/messages`, body, { contentType: SENML }),
        0,
      );
      const page = await s.api.call('listMessages', {
        params: { id: channelId },
        query: { name: 'urn:dev:sensor:temp', limit: 100 },
      });
      assert.ok(
        page.items.some((m) => m.protocol === 'mqtt' && m.senml?.[0]?.v === 23),
        'stored before PUBACK',
      );
      assert.equal(
        await publish(c, `channels/${channelId}/messages`, '[{"bad":1}]', { contentType: SENML }),
        0x99,
      );
      assert.equal(await publish(c, 'some/other/topic', 'x'), 0x87);
      assert.equal(await publish(c, `$devices/${devices['display']!.id}/events`, 'x'), 0x87);
      // Its own management plane: events must be DeviceEvent[] (management.test.ts covers the rest).
      const event = { kind: 'mine', severity: 'info', at: new Date().toISOString(), detail: {} };
      assert.equal(await publish(c, `$devices/${d.id}/events`, JSON.stringify([event])), 0);
      assert.deepEqual(await subscribe(c, `channels/${channelId}/messages`), [0x87]);
      assert.deepEqual(await subscribe(c, '#'), [0x87]);
    } finally {
      c.end(true);
    }
  });

  it('aggregates SenML values in time buckets', async () => {
    const body = JSON.stringify([
      { bn: 'agg:', n: 'p', v: 1, t: 1.8e9 },
      { n: 'p', v: 3, t: 1.8e9 + 10 },
      { n: 'p', v: 10, t: 1.8e9 + 70 },
    ]);
    const res = await ingest(`/channels/${channelId}/messages`, body, {
      authorization: basic(devices['sensor']!),
      'content-type': SENML,
    });
    assert.equal(res.status, 202);
    const from = new Date(1.8e9 * 1000 - 60_000).toISOString();
    const to = new Date(1.8e9 * 1000 + 120_000).toISOString();
    const avg = await s.api.call('aggregateMessages', {
      params: { id: channelId },
      query: { name: 'agg:p', from, to, bucket: '1m', fn: 'avg' },
    });
    assert.deepEqual(
      avg.map((b) => [b.value, b.count]),
      [
        [2, 2],
        [10, 1],
      ],
    );
    const max = await s.api.call('aggregateMessages', {
      params: { id: channelId },
      query: { name: 'agg:p', from, to, bucket: '1h', fn: 'max' },
    });
    assert.deepEqual(
      max.map((b) => b.value),
      [10],
    );
  });

  it('refuses a revoked certificate at the handshake and cuts its live session', async () => {
    const d = await device('short-lived', { publish: true, subscribe: true }, true);
    const c = await connectTls(t, { clientId: d.id, cert: d.cert!, key: d.keyPem! });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const [cert] = await s.api.devices.certificates(d.id);
    await s.api.devices.revokeCertificate(d.id, cert!.serial);
    await closed;
    c.end(true);
    await assert.rejects(connectTls(t, { clientId: d.id, cert: d.cert!, key: d.keyPem! }));
  });

  it('curl publishes with a device key over HTTPS', async () => {
    const d = devices['sensor']!;
    // Asynchronous: the hub runs in this process, so a synchronous exec would block it.
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '--max-time',
      '20',
      '--cacert',
      caFile(),
      '-u',
      `${d.id}:${d.key}`,
      '-H',
      'content-type: text/plain',
      '--data-binary',
      'from curl',
      '-w',
      '\n%{http_code}',
      `${t.url}/api/v1/channels/${channelId}/messages/curl`,
    ]);
    assert.match(stdout, /\n202$/);
  });

  it('refuses a client certificate from a CA that is not the organization’s, before any MQTT byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-rogue-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-subj',
          `/CN=${devices['sensor']!.id}/O=${s.orgId}`,
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
        ],
        { stdio: 'ignore' },
      );
      await assert.rejects(
        connectTls(t, {
          clientId: devices['sensor']!.id,
          cert: readFileSync(join(dir, 'c.pem'), 'utf8'),
          key: readFileSync(join(dir, 'k.pem'), 'utf8'),
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deletes stored messages past the channel’s retention', async () => {
    const short = await s.api.channels.create({ name: 'short-lived', retentionDays: 1 });
    await s.api.channels.connect(short.id, {
      clientType: 'device',
      clientId: devices['sensor']!.id,
      publish: true,
      subscribe: false,
    });
    const res = await ingest(`/channels/${short.id}/messages`, 'old news', {
      authorization: basic(devices['sensor']!),
      'content-type': 'text/plain',
    });
    assert.equal(res.status, 202);
    assert.equal((await s.api.channels.messages(short.id)).items.length, 1);
    t.clock.advance(2 * 86_400_000);
    assert.ok((await t.hub.services.messaging.sweepRetention()) >= 1);
    assert.equal((await s.api.channels.messages(short.id)).items.length, 0);
    assert.equal(
      (await s.api.call('listMessages', { params: { id: channelId }, query: { limit: 1 } })).items
        .length,
      1,
      'other channels keep theirs',
    );
  });

  it('another tenant cannot use the channel', async () => {
    const org2 = await s.owner.orgs.create({ name: 'Other' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: 'a long and unguessable passphrase',
      organizationId: org2.id,
    });
    const other = t.client(tokens.accessToken);
    await rejectsWith(other.call('getChannel', { params: { id: channelId } }), 'not_found');
    const theirs = await other.devices.create({ name: 'intruder', type: 'x' });
    await rejectsWith(
      other.call('connectClient', {
        params: { id: channelId },
        body: { clientType: 'device', clientId: theirs.id, publish: true, subscribe: true },
      }),
      'not_found',
    );
    await rejectsWith(
      s.api.call('connectClient', {
        params: { id: channelId },
        body: { clientType: 'device', clientId: theirs.id, publish: true, subscribe: true },
      }),
      'not_found',
    );
  });

  it('exports Prometheus metrics to a key with metrics:read only', async () => {
    assert.equal((await raw(t, 'GET', '/../../metrics')).status, 401);
    const { key } = await s.owner.apiKeys.create({
      name: 'prometheus',
      permissions: ['metrics:read'],
    });
    const res = await t.fetchWith()(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /bulwark_messages_in_total\{protocol="http"\} \d+/);
    assert.match(
      text,
      /bulwark_messages_refused_total\{protocol="http",reason="senml_invalid"\} 1/,
    );
    assert.match(text, /bulwark_storage_write_seconds_count/);
    assert.match(text, /bulwark_storage_batch_rows_count [1-9]/);
    assert.match(text, /bulwark_storage_writer_waiting 0/);
    assert.match(text, /bulwark_mqtt_connections/);
    const noPerm = await t.fetchWith()(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${s.apiKey}` },
    });
    assert.equal(noPerm.status, 403);
  });
});

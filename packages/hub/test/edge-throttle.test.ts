/**
 * A flood of failures from one source (issue 11: "40 wrong MQTT keys in 390 ms" went through).
 * The admission rule throttles per source and per source + subject on every transport: past the
 * threshold a source is refused before any lookup — MQTT CONNACK 0x9F, HTTP 429 with Retry-After,
 * CoAP 5.03 — while other sources go on. Each source here is its own loopback address.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

const run = promisify(execFile);
const PER_SOURCE = 20;

describe('failures from one source are throttled at the edge (every transport)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let dev: { id: string; key: string };

  const mqttRefusal = (localAddress: string, username: string, password: string) =>
    connectTls(t, { username, password, clientId: username, localAddress } as never).then(
      (c) => {
        c.end(true);
        return 0;
      },
      (e: { code?: number }) => e.code ?? -1,
    );

  before(async () => {
    t = await startTestHub(['--coap-port', '0']);
    s = await setupOwner(t);
    channelId = (await s.api.channels.create({ name: 'throttle' })).id;
    const d = await s.api.devices.create({ name: 'good', type: 'sensor' });
    dev = { id: d.id, key: (await s.api.devices.createKey(d.id)).key };
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
  });
  after(() => t.close());

  it(`MQTT: after ${PER_SOURCE} wrong keys a source gets 0x9F, even with a right key; other sources do not`, async () => {
    const codes: number[] = [];
    for (let i = 0; i < PER_SOURCE + 10; i++) {
      codes.push(
        await mqttRefusal(
          '127.0.0.3',
          `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
          'bwd_wrong',
        ),
      );
    }
    assert.deepEqual(codes.slice(0, PER_SOURCE - 1), Array(PER_SOURCE - 1).fill(0x86));
    assert.deepEqual(codes.slice(PER_SOURCE), Array(10).fill(0x9f));
    assert.equal(await mqttRefusal('127.0.0.3', dev.id, dev.key), 0x9f, 'the blocked source waits');
    assert.equal(await mqttRefusal('127.0.0.4', dev.id, dev.key), 0, 'another source connects');
  });

  it('one device id hammered from one source is blocked after 5 tries, the source is not', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push(await mqttRefusal('127.0.0.5', dev.id, 'bwd_wrong'));
    assert.deepEqual(codes, [0x86, 0x86, 0x86, 0x86, 0x86, 0x9f, 0x9f]);
    const other = await s.api.devices.create({ name: 'other', type: 'sensor' });
    const { key } = await s.api.devices.createKey(other.id);
    assert.equal(await mqttRefusal('127.0.0.5', other.id, key), 0);
  });

  it('HTTP ingest: a flooding source gets 429 with Retry-After', async () => {
    const dispatcher = new Agent({ connect: { ca: t.ca, localAddress: '127.0.0.6' } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < PER_SOURCE + 2; i++) {
      const res = await fetch(`${t.url}/api/v1/channels/${channelId}/messages`, {
        method: 'POST',
        dispatcher,
        headers: {
          authorization: `Basic ${Buffer.from(`${dev.id}-${i}:bwd_wrong`).toString('base64')}`,
          'content-type': 'text/plain',
        },
        body: 'x',
      });
      statuses.push(res.status);
      retryAfter ??= res.headers.get('retry-after');
      await res.arrayBuffer();
    }
    await dispatcher.close();
    assert.deepEqual(statuses.slice(0, PER_SOURCE - 1), Array(PER_SOURCE - 1).fill(401));
    assert.equal(statuses.at(-1), 429);
    assert.ok(Number(retryAfter) > 0);
  });

  it('CoAP: a flooding source gets 5.03', async () => {
    const url = (i: number) =>
      `coap://127.0.0.1:${t.hub.info.coapPort}/channels/${channelId}/messages?auth=dev${i}:bwd_wrong`;
    let last = '';
    for (let i = 0; i < PER_SOURCE + 1; i++) {
      const r = await run('coap-client-notls', [
        '-a',
        '127.0.0.7',
        '-m',
        'post',
        '-e',
        'x',
        url(i),
      ]).catch((e: { stdout?: string; stderr?: string }) => ({
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }));
      last = `${r.stdout}${r.stderr}`;
    }
    assert.match(last, /5\.03/);
  });

  it('every refused credential is counted by transport and reason', async () => {
    const { key } = await s.owner.apiKeys.create({ name: 'scrape', permissions: ['metrics:read'] });
    const res = await t.fetchWith()(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const text = await res.text();
    const count = (labels: string) =>
      Number(
        new RegExp(`^bulwark_auth_failures_total\\{${labels}\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
      );
    const lines = text.split('\n').filter((l) => l.startsWith('bulwark_auth_failures_total'));
    assert.ok(count('protocol="mqtt",reason="unknown"') >= PER_SOURCE, lines.join('\n'));
    // Refusals of a throttled source are not events one by one (a flood would become one): the
    // failures that got it throttled are.
    assert.ok(count('protocol="http",reason="unknown"') >= PER_SOURCE - 1);
    assert.ok(count('protocol="coap",reason="unknown"') >= 1);
  });
});

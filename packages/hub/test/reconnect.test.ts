/**
 * Reconnect storms (issue 12 item 6, decision 0022): TLS sessions resume across a hub restart on
 * the shared, sealed ticket keys; a resumed session is still admitted (a revoked certificate is
 * refused); the MQTT/TLS listener serves new connections in arrival order and answers "server
 * busy" past its queue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { SESSION_TICKET_KEYS, SecretBox, SessionTicketKeys, systemClock } from '@bulwark/core';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

/** A v5 (or 3.1.1) CONNECT with Clean Start and the given client id. */
function connectPacket(clientId: string, level: 4 | 5 = 5): Buffer {
  const str = (x: string) => {
    const b = Buffer.from(x);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from(level === 5 ? [5, 0x02, 0, 60, 0] : [4, 0x02, 0, 60]),
    str(clientId),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** The first bytes the server answers a CONNECT with, or null when it closes without a word. */
async function connack(socket: tls.TLSSocket, packet: Buffer): Promise<Buffer | null> {
  socket.write(packet);
  return new Promise((resolve) => {
    socket.once('data', (d: Buffer) => resolve(d));
    socket.once('close', () => resolve(null));
    socket.once('error', () => resolve(null));
  });
}

/** A CONNACK with reason code 0 (Success). */
const accepted = (b: Buffer | null): boolean => b !== null && b[0] === 0x20 && b[3] === 0x00;

/** A TLS connection to the MQTT port; resolves after the handshake with the session it got. */
async function dial(
  port: number,
  o: tls.ConnectionOptions,
): Promise<{ socket: tls.TLSSocket; reused: boolean; ticket: Promise<Buffer> }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ...o });
  // TLS 1.3 sends its tickets after the handshake: the last one is the one to keep.
  let last: Buffer | undefined;
  const ticket = new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => (last ? resolve(last) : reject(new Error('no ticket'))), 2000);
    socket.on('session', (s: Buffer) => {
      last = s;
      clearTimeout(timer);
      setTimeout(() => resolve(last!), 50);
    });
  });
  ticket.catch(() => undefined);
  await once(socket, 'secureConnect');
  return { socket, reused: socket.isSessionReused(), ticket };
}

describe('TLS session resumption across a restart; admission on every resumed connect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-reconnect-'));
  let t: TestHub;
  let a: Awaited<ReturnType<typeof setupOwner>>;
  let device: { id: string; cert: string; key: string; serial: string };
  let session: Buffer;
  let httpsSession: Buffer;
  const httpsPort = () => Number(new URL(t.url).port);
  const mqttPort = () => t.hub.info.mqttPort;
  const asDevice = (extra: tls.ConnectionOptions = {}) =>
    dial(mqttPort(), { ca: t.ca, cert: device.cert, key: device.key, ...extra });

  before(async () => {
    t = await startTestHub([], { dir });
    a = await setupOwner(t);
    const d = await a.api.devices.create({ name: 'resumer', type: 'sensor' });
    const { token } = await a.api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const enrolled = await t.client().enroll({ token, csr: k.csrPem });
    device = { id: d.id, cert: enrolled.certificate, key: k.keyPem, serial: enrolled.serial };
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a first connection is a full handshake and is given a ticket', async () => {
    const c = await asDevice();
    assert.equal(c.reused, false);
    assert.equal(accepted(await connack(c.socket, connectPacket(device.id))), true);
    session = await c.ticket;
    c.socket.destroy();
    // The HTTPS port (ingest, DDI, MQTT over WebSocket) gives one too.
    const h = await dial(httpsPort(), { ca: t.ca, cert: device.cert, key: device.key });
    h.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    httpsSession = await h.ticket;
    h.socket.destroy();
  });

  it('the ticket keys are stored sealed under the master key, never in the clear', async () => {
    const row = await t.hub.storage.system.get(SESSION_TICKET_KEYS);
    assert.ok(row !== undefined && row.startsWith('v1.'), 'a sealed box');
    const masterKey = Buffer.from(readFileSync(join(dir, 'master.key'), 'utf8').trim(), 'hex');
    const ring = new SessionTicketKeys({
      system: t.hub.storage.system,
      box: new SecretBox(masterKey),
      clock: systemClock,
      periodMs: 168 * 3600_000,
    });
    const { key } = await ring.current();
    assert.equal(key.length, 48);
    for (const form of [key.toString('base64'), key.toString('hex'), key.toString('base64url')])
      assert.ok(!row.includes(form), 'the key is not in the row');
    assert.ok(!row.includes(key.subarray(0, 16).toString('hex')), 'nor its name');
    assert.equal(
      await t.hub.storage.system.get(SESSION_TICKET_KEYS),
      row,
      'reading changed nothing',
    );
    const other = new SessionTicketKeys({
      system: t.hub.storage.system,
      box: new SecretBox(Buffer.alloc(32, 7)),
      clock: systemClock,
      periodMs: 168 * 3600_000,
    });
    await assert.rejects(other.current(), /do not open with this master key/);
    assert.equal(await t.hub.storage.system.get(SESSION_TICKET_KEYS), row, 'nor did a wrong key');
  });

  it('after a restart the device resumes its session (the keys were persisted) and is admitted', async () => {
    await t.hub.stop();
    t = await startTestHub([], { dir });
    const c = await asDevice({ session });
    assert.equal(c.reused, true, 'resumed, not a full handshake');
    assert.equal(accepted(await connack(c.socket, connectPacket(device.id))), true);
    c.socket.destroy();
    const h = await dial(httpsPort(), {
      ca: t.ca,
      cert: device.cert,
      key: device.key,
      session: httpsSession,
    });
    assert.equal(h.reused, true, 'HTTPS resumed too');
    h.socket.destroy();
  });

  it('a ticket sealed before a key rotation still resumes (the previous key opens it) and is renewed under the new key', async () => {
    const period = 168 * 3600_000;
    const masterKey = Buffer.from(readFileSync(join(dir, 'master.key'), 'utf8').trim(), 'hex');
    // A ring whose active key ends 3 s from now: the next start of the hub rotates.
    const row = await t.hub.storage.system.get(SESSION_TICKET_KEYS);
    assert.equal(
      await t.hub.storage.system.compareAndSet(SESSION_TICKET_KEYS, row, undefined),
      true,
    );
    const ends = Date.now() + 3000;
    const first = await new SessionTicketKeys({
      system: t.hub.storage.system,
      box: new SecretBox(masterKey),
      clock: { now: () => ends - period },
      periodMs: period,
    }).current();
    await t.hub.stop();
    t = await startTestHub([], { dir });
    const before = await asDevice();
    assert.equal(accepted(await connack(before.socket, connectPacket(device.id))), true);
    const old = await before.ticket;
    before.socket.destroy();
    await new Promise((r) => setTimeout(r, Math.max(0, ends - Date.now() + 100)));
    await t.hub.stop();
    t = await startTestHub([], { dir });
    const now = await new SessionTicketKeys({
      system: t.hub.storage.system,
      box: new SecretBox(masterKey),
      clock: systemClock,
      periodMs: period,
    }).current();
    assert.ok(!now.key.equals(first.key), 'rotated');
    assert.ok(
      now.previous.some((k) => k.equals(first.key)),
      'the previous key is kept',
    );
    const c = await asDevice({ session: old });
    assert.equal(c.reused, true, 'resumed with a ticket of the previous key');
    assert.equal(accepted(await connack(c.socket, connectPacket(device.id))), true);
    const renewed = await c.ticket;
    c.socket.destroy();
    const d = await asDevice({ session: renewed });
    assert.equal(d.reused, true, 'and the ticket given in return resumes');
    d.socket.destroy();
    session = renewed; // (the original key is gone from the ring: the next test resumes this one)
  });

  it('a certificate revoked after the first connection is refused on a resumed handshake', async () => {
    // Admitted (and cached) once more, then revoked: the cache forgets, the listener refuses.
    const warm = await asDevice({ session });
    assert.equal(warm.reused, true);
    assert.equal(accepted(await connack(warm.socket, connectPacket(device.id))), true);
    const cut = new Promise((r) => warm.socket.once('close', r));
    await t.client(a.apiKey).devices.revokeCertificate(device.id, device.serial);
    await cut;
    const c = await asDevice({ session });
    assert.equal(c.reused, true, 'the TLS session itself resumed');
    assert.equal(await connack(c.socket, connectPacket(device.id)), null, 'closed, no CONNACK');
  });
});

describe('MQTT/TLS admission control: arrival order, a bounded queue, "server busy" beyond it', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub(['--mqtt-handshakes', '1', '--mqtt-pending-connections', '2']);
  });
  after(() => t?.close());

  it('serves waiting connections first come, first served, and answers 0x89 / 3 past the queue', async () => {
    const port = t.hub.info.mqttPort;
    // One connection holds the only handshake slot by sending nothing.
    const staller = net.connect(port, '127.0.0.1');
    await once(staller, 'connect');
    await new Promise((r) => setTimeout(r, 100));
    const order: string[] = [];
    const waiting = ['first', 'second'].map(async (name) => {
      const c = await dial(port, { ca: t.ca });
      order.push(name);
      return c;
    });
    // Each arrives after the one before it.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(order, [], 'nobody handshakes while the slot is held');
    // The queue is full: a newcomer is told "server busy" in its protocol's words.
    const busy5 = await dial(port, { ca: t.ca });
    assert.deepEqual(
      [...((await connack(busy5.socket, connectPacket('x'))) ?? [])],
      [0x20, 0x03, 0x00, 0x89, 0x00],
    );
    const busy4 = await dial(port, { ca: t.ca });
    assert.deepEqual(
      [...((await connack(busy4.socket, connectPacket('y', 4))) ?? [])],
      [0x20, 0x02, 0x00, 0x03],
    );
    assert.deepEqual(order, [], 'the busy answers did not jump the queue');
    // The slot frees: the waiting ones are served, in the order they came.
    staller.destroy();
    const served = await Promise.all(waiting);
    assert.deepEqual(order, ['first', 'second']);
    for (const c of served) c.socket.destroy();
  });
});

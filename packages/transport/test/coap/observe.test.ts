/** GET + Observe (RFC 7641): register, notifications for matching deliveries only, cancel, bounds. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CHANNEL,
  O,
  OTHER_CHANNEL,
  path,
  sleep,
  startServer,
  until,
  type FakeHooks,
} from './helpers.js';
import {
  ACK,
  CON,
  NON,
  RST,
  RawClient,
  empty,
  encode,
  opt,
  option,
  uint,
  type Msg,
} from './wire.js';
import type { CoapServer } from '../../src/coap/index.js';

const json = (
  s: string,
): { channelId: string; subtopic: string; contentType: string; payload: Uint8Array } => ({
  channelId: CHANNEL,
  subtopic: 'room',
  contentType: 'application/json',
  payload: Buffer.from(s),
});

describe('CoAP Observe on /channels/{id}/messages[/…]', () => {
  let server: CoapServer & { port: number };
  let hooks: FakeHooks;
  before(async () => {
    ({ server, hooks } = await startServer({
      maxObserversPerClient: 3,
      confirmIntervalMs: 60_000,
    }));
  });
  after(async () => {
    await server.close();
  });

  async function register(
    c: RawClient,
    sub = ['room'],
    extra: [number, Buffer][] = [],
    type = CON,
  ): Promise<{ token: Buffer; reg: Msg }> {
    const token = c.nextToken();
    const reg = await c.request(
      '0.01',
      [...path(CHANNEL, sub), opt(O.Observe, 0), ...extra],
      '',
      type,
      token,
    );
    return { token, reg };
  }

  it('registers with 2.05 + Observe and notifies each matching delivery with a rising sequence', async () => {
    const c = await RawClient.open(server.port);
    try {
      const { token, reg } = await register(c);
      assert.equal(reg.code, '2.05');
      assert.notEqual(option(reg, O.Observe), undefined, 'Observe in the registration response');
      assert.equal(server.stats().observers, 1);
      const from = c.received.length;
      server.deliver(json('{"n":1}'));
      server.deliver({ ...json('{"n":2}'), channelId: OTHER_CHANNEL }); // other channel
      server.deliver({ ...json('{"n":3}'), subtopic: 'hall' }); // other subtopic
      server.deliver({ ...json('{"n":4}'), subtopic: '' }); // no subtopic
      server.deliver({ ...json('hi'), contentType: 'text/plain' });
      await c.wait((m) => m.token.equals(token) && m.payload.toString() === 'hi', 3000, from);
      await sleep(50);
      const notes = c.received.slice(from).filter((m) => m.token.equals(token));
      assert.deepEqual(
        notes.map((m) => m.payload.toString()),
        ['{"n":1}', 'hi'],
      );
      assert.deepEqual(
        notes.map((m) => uint(option(m, O.ContentFormat))),
        [50, 0],
      );
      const seqs = notes.map((m) => uint(option(m, O.Observe)) ?? -1);
      assert.ok(
        seqs[0]! > (uint(option(reg, O.Observe)) ?? -1) && seqs[1]! > seqs[0]!,
        `sequence ${seqs.join(',')}`,
      );
      assert.ok(
        notes.every((m) => m.code === '2.05' && m.type === NON),
        'NON notifications (RFC 7641 §4.5)',
      );
      assert.ok(
        new Set(notes.map((m) => m.mid)).size === notes.length,
        'each notification has its own MID',
      );
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('a NON registration gets NON notifications (not ACKs)', async () => {
    const c = await RawClient.open(server.port);
    try {
      const { token, reg } = await register(c, ['room'], [], NON);
      assert.equal(reg.type, NON);
      const from = c.received.length;
      server.deliver(json('x'));
      const n = await c.wait((m) => m.token.equals(token), 3000, from);
      assert.equal(n.type, NON);
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('deregisters with Observe=1 (RFC 7641 §3.6) and stops notifying', async () => {
    const c = await RawClient.open(server.port);
    try {
      const { token } = await register(c);
      assert.equal(server.stats().observers, 1);
      const r = await c.request(
        '0.01',
        [...path(CHANNEL, ['room']), opt(O.Observe, 1)],
        '',
        CON,
        token,
      );
      assert.equal(r.code, '2.05');
      assert.equal(option(r, O.Observe), undefined);
      assert.equal(server.stats().observers, 0);
      const from = c.received.length;
      server.deliver(json('late'));
      await sleep(100);
      assert.equal(c.received.slice(from).filter((m) => m.token.equals(token)).length, 0);
    } finally {
      c.close();
    }
  });

  it('cancels when the client answers a notification with a Reset', async () => {
    const c = await RawClient.open(server.port);
    try {
      const { token } = await register(c);
      const from = c.received.length;
      server.deliver(json('x'));
      const n = await c.wait((m) => m.token.equals(token), 3000, from);
      c.raw(encode(empty(RST, n.mid)));
      await until(() => server.stats().observers === 0, 3000, 'observer removed by RST');
    } finally {
      c.close();
    }
  });

  it('sends a Confirmable notification when one is due, and a Reset to it cancels', async () => {
    const s2 = await startServer({ confirmIntervalMs: 1 });
    const c = await RawClient.open(s2.server.port);
    c.autoAck = false;
    try {
      const token = c.nextToken();
      await c.request('0.01', [...path(CHANNEL, ['room']), opt(O.Observe, 0)], '', CON, token);
      await sleep(5);
      const from = c.received.length;
      s2.server.deliver(json('a'));
      s2.server.deliver(json('b'));
      await c.wait((m) => m.payload.toString() === 'b', 3000, from);
      const notes = c.received.slice(from).filter((m) => m.token.equals(token));
      assert.deepEqual(
        notes.map((m) => m.type),
        [CON, NON],
        'one CON at a time (RFC 7641 §4.5.1)',
      );
      c.raw(encode(empty(RST, notes[0]!.mid)));
      await until(() => s2.server.stats().observers === 0, 3000, 'observer removed by RST to CON');
    } finally {
      c.close();
      await s2.server.close();
    }
  });

  it('re-registering with the same token replaces the entry (RFC 7641 §4.1)', async () => {
    const c = await RawClient.open(server.port);
    try {
      const { token } = await register(c);
      await c.request('0.01', [...path(CHANNEL, ['room']), opt(O.Observe, 0)], '', CON, token);
      assert.equal(server.stats().observers, 1);
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('refuses 4.03 when canSubscribe says no, 4.01 without credentials', async () => {
    const c = await RawClient.open(server.port);
    hooks.subscribable.delete(OTHER_CHANNEL);
    try {
      const r = await c.request('0.01', [...path(OTHER_CHANNEL), opt(O.Observe, 0)]);
      assert.equal(r.code, '4.03');
      const r2 = await c.request('0.01', [...path(CHANNEL, [], null), opt(O.Observe, 0)]);
      assert.equal(r2.code, '4.01');
      assert.equal(server.stats().observers, 0);
    } finally {
      hooks.subscribable.add(OTHER_CHANNEL);
      c.close();
    }
  });

  it('honours Accept: only that Content-Format is notified; an unknown one is 4.06', async () => {
    const c = await RawClient.open(server.port);
    try {
      const bad = await c.request('0.01', [
        ...path(CHANNEL, ['room']),
        opt(O.Observe, 0),
        opt(O.Accept, 41),
      ]);
      assert.equal(bad.code, '4.06');
      const { token } = await register(c, ['room'], [opt(O.Accept, 0)]);
      const from = c.received.length;
      server.deliver(json('{}'));
      server.deliver({ ...json('text'), contentType: 'text/plain' });
      await c.wait((m) => m.token.equals(token), 3000, from);
      await sleep(50);
      const got = c.received.slice(from).filter((m) => m.token.equals(token));
      assert.deepEqual(
        got.map((m) => m.payload.toString()),
        ['text'],
      );
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('bounds observers per client: beyond the limit the GET falls back to a plain 2.05', async () => {
    const c = await RawClient.open(server.port);
    try {
      for (let i = 0; i < 3; i++) assert.ok(option((await register(c, [`s${i}`])).reg, O.Observe));
      const { reg } = await register(c, ['s3']);
      assert.equal(reg.code, '2.05');
      assert.equal(option(reg, O.Observe), undefined, 'no Observe: not registered (RFC 7641 §4.1)');
      assert.match(reg.payload.toString(), /limit/);
      assert.equal(server.stats().observers, 3);
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('a plain GET answers 2.05 with a short text description', async () => {
    const c = await RawClient.open(server.port);
    try {
      const r = await c.request('0.01', path(CHANNEL, ['room']));
      assert.equal(r.code, '2.05');
      assert.equal(uint(option(r, O.ContentFormat)), 0);
      assert.match(r.payload.toString(), /Observe/);
    } finally {
      c.close();
    }
  });

  it('sends a large notification as block 0 + ETag, the rest by GET + Block2 (RFC 7959 §2.6)', async () => {
    const c = await RawClient.open(server.port);
    try {
      // Block2 SZX 2 (64 bytes) in the registration: the client's preferred size (RFC 7959 §2.4).
      const { token } = await register(c, ['room'], [opt(O.Block2, 2)]);
      const body = Buffer.from('0123456789abcdef'.repeat(10)); // 160 bytes → 3 blocks of 64
      const from = c.received.length;
      server.deliver({ ...json(''), payload: body });
      const n = await c.wait((m) => m.token.equals(token), 3000, from);
      assert.equal(n.payload.length, 64);
      const etag = option(n, O.ETag);
      assert.ok(etag && etag.length > 0);
      assert.equal(uint(option(n, O.Size2)), 160);
      assert.equal(uint(option(n, O.Block2)), (0 << 4) | 8 | 2);
      const parts = [n.payload];
      for (let num = 1; ; num++) {
        const r = await c.request('0.01', [
          ...path(CHANNEL, ['room']),
          opt(O.Block2, (num << 4) | 2),
        ]);
        assert.equal(r.code, '2.05');
        assert.deepEqual(option(r, O.ETag), etag);
        parts.push(r.payload);
        if ((uint(option(r, O.Block2))! & 8) === 0) break;
        assert.ok(num < 10);
      }
      assert.deepEqual(Buffer.concat(parts), body);
      const beyond = await c.request('0.01', [
        ...path(CHANNEL, ['room']),
        opt(O.Block2, (9 << 4) | 2),
      ]);
      assert.equal(beyond.code, '4.02');
    } finally {
      c.close();
      await cancelAll();
    }
  });

  it('ACKs of Confirmable traffic and stray ACK/RST do not disturb the server', async () => {
    const c = await RawClient.open(server.port);
    try {
      c.raw(encode(empty(ACK, 1234)));
      c.raw(encode(empty(RST, 4321)));
      const r = await c.request('0.01', path());
      assert.equal(r.code, '2.05');
    } finally {
      c.close();
    }
  });

  /** A fresh server: observations of closed test clients would linger until a CON times out. */
  async function cancelAll(): Promise<void> {
    await server.close();
    ({ server, hooks } = await startServer({
      maxObserversPerClient: 3,
      confirmIntervalMs: 60_000,
    }));
  }
});

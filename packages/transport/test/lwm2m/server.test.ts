/**
 * The LwM2M wire on raw UDP with fake hooks: the registration interface (Core §6.2) and its
 * refusals, duplicates, limits and lifetime expiry; Send; and the server's own requests (Read,
 * Write, Observe) answered by a scripted client socket.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { BulwarkError } from '@bulwark/protocol';
import {
  decodeTlv,
  encodeTlv,
  type Device,
  type Lwm2mBinding,
  type Lwm2mEnd,
  type Lwm2mRecord,
  type Lwm2mRegistration,
} from '@bulwark/core';
import { startLwm2mServer, type Lwm2mHooks, type Lwm2mServer } from '../../src/index.js';

const DEVICE = { id: 'd1', orgId: 'o1', state: 'active' } as Device;

/** Records what the server told the hooks. */
class FakeHooks implements Lwm2mHooks {
  binds: string[] = [];
  regs: Lwm2mRegistration[] = [];
  updates: Lwm2mRegistration[] = [];
  ends: [string, Lwm2mEnd][] = [];
  sends: Lwm2mRecord[][] = [];
  refuse = new Set<string>();
  /** Endpoints whose Update the hub no longer admits. */
  refuseUpdate = new Set<string>();
  bind(ep: string): Promise<Lwm2mBinding> {
    this.binds.push(ep);
    if (this.refuse.has(ep)) return Promise.reject(new BulwarkError('forbidden', 'no'));
    return Promise.resolve({ orgId: 'o1', deviceId: ep, device: DEVICE });
  }
  registered(reg: Lwm2mRegistration): Promise<void> {
    this.regs.push(reg);
    return Promise.resolve();
  }
  updated(reg: Lwm2mRegistration): Promise<void> {
    this.updates.push(reg);
    if (this.refuseUpdate.has(reg.endpoint))
      return Promise.reject(new BulwarkError('forbidden', 'the key was replaced'));
    return Promise.resolve();
  }
  ended(reg: Lwm2mRegistration, why: Lwm2mEnd): Promise<void> {
    this.ends.push([reg.endpoint, why]);
    return Promise.resolve();
  }
  sent(_l: string, records: Lwm2mRecord[]): Promise<void> {
    this.sends.push(records);
    return Promise.resolve();
  }
}

/** A client socket: sends requests, collects everything it receives. */
class Peer {
  sock: Socket = createSocket('udp4');
  inbox: ParsedPacket[] = [];
  #mid = 100;
  onRequest: ((p: ParsedPacket) => Buffer | undefined) | undefined;
  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const p = parse(m);
      const reply = p.code.startsWith('0.') && p.code !== '0.00' ? this.onRequest?.(p) : undefined;
      if (reply) this.sock.send(reply, this.port, '127.0.0.1');
      else this.inbox.push(p);
    });
  }
  bind(): Promise<void> {
    return new Promise((r) => this.sock.bind(0, '127.0.0.1', () => r()));
  }
  get address(): string {
    return `127.0.0.1:${this.sock.address().port}`;
  }
  send(buf: Buffer): void {
    this.sock.send(buf, this.port, '127.0.0.1');
  }
  /** A CON request; resolves with the piggybacked answer (bounded 3 s). */
  async request(o: {
    code: string;
    path: string[];
    query?: string[];
    cf?: number;
    payload?: Buffer | string;
    mid?: number;
  }): Promise<ParsedPacket> {
    const mid = o.mid ?? ++this.#mid;
    this.send(
      generate({
        code: o.code,
        confirmable: true,
        messageId: mid,
        token: Buffer.from([mid & 0xff]),
        options: [
          ...o.path.map((p) => ({ name: 'Uri-Path' as const, value: Buffer.from(p) })),
          ...(o.cf !== undefined
            ? [
                {
                  name: 'Content-Format' as const,
                  value: o.cf ? Buffer.from([o.cf]) : Buffer.alloc(0),
                },
              ]
            : []),
          ...(o.query ?? []).map((q) => ({ name: 'Uri-Query' as const, value: Buffer.from(q) })),
        ],
        ...(o.payload !== undefined ? { payload: Buffer.from(o.payload) } : {}),
      }),
    );
    return this.next((p) => p.messageId === mid && p.ack);
  }
  async next(pred: (p: ParsedPacket) => boolean, ms = 3000): Promise<ParsedPacket> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no such packet in time');
  }
  close(): void {
    this.sock.close();
  }
}

const register = (peer: Peer, ep: string, extra: string[] = [], payload = '</1/0>,</3/0>') =>
  peer.request({ code: '0.02', path: ['rd'], query: [`ep=${ep}`, 'lwm2m=1.1', ...extra], payload });

const locationOf = (p: ParsedPacket) =>
  p.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());

describe('LwM2M registration interface (Core §6.2)', () => {
  let server: Lwm2mServer;
  let hooks: FakeHooks;
  let peer: Peer;
  const quiet = { debug: () => undefined, warn: () => undefined };

  before(async () => {
    hooks = new FakeHooks();
    server = await startLwm2mServer({
      port: 0,
      host: '127.0.0.1',
      hooks,
      log: quiet,
      limits: { maxRegistrations: 3 },
    });
  });
  after(() => server.close());
  afterEach(() => peer?.close());

  const newPeer = async () => {
    peer = new Peer(server.port);
    await peer.bind();
    return peer;
  };

  it('register → 2.01 rd/{id}; update → 2.04; de-register → 2.02, then 4.04', async () => {
    await newPeer();
    const r = await register(peer, 'ep-a', ['lt=60', 'b=U']);
    assert.equal(r.code, '2.01');
    const loc = locationOf(r);
    assert.equal(loc[0], 'rd');
    assert.match(loc[1]!, /^[0-9a-f]{16}$/);
    await new Promise((res) => setTimeout(res, 20));
    const reg = hooks.regs.at(-1)!;
    assert.equal(reg.endpoint, 'ep-a');
    assert.equal(reg.lifetime, 60);
    assert.equal(reg.address, peer.address);
    assert.deepEqual(reg.objects, [{ path: '/1/0' }, { path: '/3/0' }]);
    assert.equal((await peer.request({ code: '0.02', path: loc, query: ['lt=120'] })).code, '2.04');
    assert.equal(hooks.updates.at(-1)!.lifetime, 120);
    assert.equal((await peer.request({ code: '0.04', path: loc })).code, '2.02');
    assert.deepEqual(hooks.ends.at(-1), ['ep-a', 'deregistered']);
    assert.equal((await peer.request({ code: '0.04', path: loc })).code, '4.04');
    assert.equal((await peer.request({ code: '0.02', path: loc })).code, '4.04');
  });

  it('an Update the hub no longer admits gets 4.03 and ends the registration', async () => {
    await newPeer();
    const loc = locationOf(await register(peer, 'ep-u'));
    hooks.refuseUpdate.add('ep-u');
    assert.equal((await peer.request({ code: '0.02', path: loc })).code, '4.03');
    assert.deepEqual(hooks.ends.at(-1), ['ep-u', 'cut']);
    assert.equal(server.holds(loc.join('/')), false);
    assert.equal((await peer.request({ code: '0.02', path: loc })).code, '4.04');
  });

  it('bad registrations get precise codes and register nothing', async () => {
    await newPeer();
    const before = hooks.regs.length;
    const code = async (o: Parameters<Peer['request']>[0]) => (await peer.request(o)).code;
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['lwm2m=1.1'] }), '4.00');
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['ep=x', 'lt=0'] }), '4.00');
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['ep=x', 'lt=abc'] }), '4.00');
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['ep=x', 'lwm2m=2.0'] }), '4.12');
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['ep=x', 'b=Z'] }), '4.00');
    assert.equal(
      await code({ code: '0.02', path: ['rd'], query: ['ep=x'], payload: 'junk' }),
      '4.00',
    );
    assert.equal(
      await code({ code: '0.02', path: ['rd'], query: ['ep=x'], cf: 0, payload: '</3/0>' }),
      '4.15',
    );
    assert.equal(
      await code({ code: '0.02', path: ['rd'], query: [`ep=${'e'.repeat(129)}`] }),
      '4.00',
    );
    const big = '</3/0>,'.repeat(150) + '</3/0>';
    assert.equal(await code({ code: '0.02', path: ['rd'], query: ['ep=x'], payload: big }), '4.13');
    assert.equal(await code({ code: '0.01', path: ['rd'] }), '4.05');
    assert.equal(await code({ code: '0.02', path: ['elsewhere'] }), '4.04');
    hooks.refuse.add('evil');
    const refused = await register(peer, 'evil');
    assert.equal(refused.code, '4.03');
    assert.match(refused.payload.toString(), /forbidden/);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(hooks.regs.length, before);
    assert.equal(server.stats().registrations, 0);
  });

  it('a duplicate Register (same Message ID) gets the same answer and registers once', async () => {
    await newPeer();
    const binds = hooks.binds.length;
    const a = await register(peer, 'ep-dup');
    const again = await peer.request({
      code: '0.02',
      path: ['rd'],
      query: ['ep=ep-dup', 'lwm2m=1.1'],
      payload: '</3/0>',
      mid: a.messageId,
    });
    assert.deepEqual(locationOf(again), locationOf(a));
    assert.equal(hooks.binds.length, binds + 1);
    assert.equal(server.stats().registrations, 1);
    // A second Register of the same endpoint replaces the first (Core §6.2.1).
    const b = await register(peer, 'ep-dup');
    assert.notDeepEqual(locationOf(b), locationOf(a));
    assert.deepEqual(hooks.ends.at(-1), ['ep-dup', 'replaced']);
    assert.equal(server.stats().registrations, 1);
    assert.equal((await peer.request({ code: '0.04', path: locationOf(b) })).code, '2.02');
  });

  it('beyond maxRegistrations Register gets 5.03 with Max-Age', async () => {
    await newPeer();
    for (const ep of ['m1', 'm2', 'm3']) assert.equal((await register(peer, ep)).code, '2.01');
    const full = await register(peer, 'm4');
    assert.equal(full.code, '5.03');
    assert.ok(full.options.some((o) => o.name === 'Max-Age'));
  });

  it('a registration expires after its lifetime (+1 s grace, 1 s sweep)', async () => {
    await server.close();
    hooks = new FakeHooks();
    server = await startLwm2mServer({ port: 0, host: '127.0.0.1', hooks, log: quiet });
    await newPeer();
    assert.equal((await register(peer, 'short', ['lt=1'])).code, '2.01');
    const start = Date.now();
    for (let i = 0; i < 60 && hooks.ends.length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(hooks.ends, [['short', 'expired']]);
    const took = Date.now() - start;
    assert.ok(took >= 1500 && took < 4000, `expired after ${took} ms`);
  });

  it('Send (POST /dp): SenML JSON or CBOR from a registered address; others 4.04; bad CBOR 4.00', async () => {
    await newPeer();
    const senml = JSON.stringify([{ bn: '/3/0/', n: '9', v: 77 }]);
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 110, payload: senml })).code,
      '4.04',
    );
    await register(peer, 'sender');
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 110, payload: senml })).code,
      '2.04',
    );
    assert.deepEqual(hooks.sends.at(-1), [{ path: '/3/0/9', value: 77 }]);
    // SenML CBOR (112): [{-2: "/3/0/", 0: "9", 2: 78}]
    const cbor = Buffer.from('81a321652f332f302f0061390218 4e'.replace(' ', ''), 'hex');
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 112, payload: cbor })).code,
      '2.04',
    );
    assert.deepEqual(hooks.sends.at(-1), [{ path: '/3/0/9', value: 78 }]);
    const sends = hooks.sends.length;
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 112, payload: 'x' })).code,
      '4.00',
    );
    assert.equal(hooks.sends.length, sends); // nothing reached the hub
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 11544, payload: 'x' })).code,
      '4.15',
    );
    assert.equal(
      (await peer.request({ code: '0.02', path: ['dp'], cf: 110, payload: '[{"n":"x"}]' })).code,
      '4.00',
    );
  });

  it('survives malformed datagrams and still answers', async () => {
    await newPeer();
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rnd() * 40);
      peer.send(Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256))));
    }
    // Let the burst drain: the loopback receive buffer drops datagrams beyond ~200 KB queued.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await register(peer, 'after-fuzz')).code, '2.01');
  });

  it("Read, Write and Observe reach the client's address; an unknown notification gets a Reset", async () => {
    await newPeer();
    const reg = await register(peer, 'managed');
    const location = locationOf(reg).join('/');
    let observeToken: Buffer | undefined;
    const writes: Buffer[] = [];
    peer.onRequest = (p) => {
      const path = p.options
        .filter((o) => o.name === 'Uri-Path')
        .map((o) => o.value.toString())
        .join('/');
      const observe = p.options.some((o) => o.name === 'Observe');
      if (p.code === '0.03') writes.push(p.payload);
      if (observe) observeToken = p.token;
      const body =
        p.code === '0.01' && path === '3/0'
          ? encodeTlv([
              { kind: 'resource', id: 0, value: Buffer.from('ACME') },
              { kind: 'resource', id: 9, value: Uint8Array.of(80) },
            ])
          : p.code === '0.01'
            ? encodeTlv([{ kind: 'resource', id: 9, value: Uint8Array.of(81) }])
            : undefined;
      return generate({
        code: p.code === '0.01' ? '2.05' : '2.04',
        ack: true,
        messageId: p.messageId,
        token: p.token,
        options: [
          ...(observe ? [{ name: 'Observe' as const, value: Buffer.from([1]) }] : []),
          ...(body ? [{ name: 'Content-Format' as const, value: Buffer.from([0x2d, 0x16]) }] : []),
        ],
        ...(body ? { payload: Buffer.from(body) } : {}),
      });
    };
    assert.deepEqual(await server.link.read(location, '/3/0'), [
      { path: '/3/0/0', value: 'ACME' },
      { path: '/3/0/9', value: 80 },
    ]);
    await server.link.write(location, '/3/0/14', '+01:00');
    assert.deepEqual(decodeTlv(writes[0]!), [
      { kind: 'resource', id: 14, value: Buffer.from('+01:00') },
    ]);
    const notes: Lwm2mRecord[][] = [];
    const first = await server.link.observe(location, '/3/0/9', (r) => notes.push(r));
    assert.deepEqual(first, [{ path: '/3/0/9', value: 81 }]);
    // A CON notification: acknowledged and delivered.
    peer.send(
      generate({
        code: '2.05',
        confirmable: true,
        messageId: 900,
        token: observeToken!,
        options: [
          { name: 'Observe', value: Buffer.from([2]) },
          { name: 'Content-Format', value: Buffer.from([0x2d, 0x16]) },
        ],
        payload: Buffer.from(encodeTlv([{ kind: 'resource', id: 9, value: Uint8Array.of(5) }])),
      }),
    );
    const ack = await peer.next((p) => p.messageId === 900);
    assert.ok(ack.ack);
    assert.deepEqual(notes, [[{ path: '/3/0/9', value: 5 }]]);
    // A notification nobody asked for: Reset (RFC 7641 §3.6).
    peer.send(generate({ code: '2.05', messageId: 901, token: Buffer.from('nobody!!') }));
    assert.ok((await peer.next((p) => p.messageId === 901)).reset);
    // A request to a gone registration fails at once.
    await assert.rejects(server.link.read('rd/0000000000000000', '/3/0'), /gone/);
  });
});

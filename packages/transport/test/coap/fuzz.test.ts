/**
 * Random and mutated datagrams (seeded, bounded) never crash the server, and a valid request
 * afterwards is still answered — for this client and for one that was never involved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCoapServer } from '../../src/coap/index.js';
import { FakeHooks, O, path, sleep } from './helpers.js';
import { CON, RawClient, encode, opt, type Msg } from './wire.js';

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('CoAP robustness against malformed datagrams', () => {
  for (const seed of [1, 7, 2025]) {
    it(`seed ${seed}: 400 random/mutated datagrams, then valid requests are still served`, async () => {
      const rnd = prng(seed);
      const int = (n: number): number => Math.floor(rnd() * n);
      const warns: string[] = [];
      const log = {
        warn: (_o: object, m: string) => void warns.push(m),
        info: () => {},
        debug: () => {},
      };
      const hooks = new FakeHooks();
      const server = await startCoapServer({
        port: 0,
        host: '127.0.0.1',
        hooks,
        maxPayloadBytes: 4096,
        log,
      });
      const evil = await RawClient.open(server.port);
      const good = await RawClient.open(server.port);
      try {
        const templates: Msg[] = [
          {
            type: CON,
            code: '0.02',
            mid: 1,
            token: Buffer.from([1, 2]),
            options: [...path(), opt(O.ContentFormat, 110)],
            payload: Buffer.from('[{"n":"x","v":1}]'),
          },
          {
            type: CON,
            code: '0.01',
            mid: 2,
            token: Buffer.from([3]),
            options: [...path(), opt(O.Observe, 0)],
            payload: Buffer.alloc(0),
          },
          {
            type: CON,
            code: '0.02',
            mid: 3,
            token: Buffer.from([4]),
            options: [...path(), opt(O.Block1, 0x0a), opt(O.Size1, 40)],
            payload: Buffer.alloc(64, 9),
          },
          {
            type: CON,
            code: '0.01',
            mid: 4,
            token: Buffer.from([5]),
            options: [...path(), opt(O.Block2, 0x12)],
            payload: Buffer.alloc(0),
          },
        ];
        for (let i = 0; i < 400; i++) {
          let b: Buffer;
          const kind = int(4);
          if (kind === 0) {
            b = Buffer.from(Array.from({ length: int(48) }, () => int(256)));
          } else {
            b = Buffer.from(encode(templates[int(templates.length)]!));
            const edits = 1 + int(4);
            for (let e = 0; e < edits; e++) {
              const at = int(b.length);
              if (kind === 1)
                b[at] = int(256); // overwrite a byte
              else if (kind === 2)
                b[at] = b[at]! ^ (1 << int(8)); // flip a bit
              else
                b = Buffer.concat([
                  b.subarray(0, at),
                  Buffer.from([int(256)]),
                  b.subarray(at + int(3)),
                ]);
            }
            if (int(5) === 0) b[0] = 0x40 | (b[0]! & 0x3f); // keep version 1 often
          }
          evil.raw(b);
          if (i % 50 === 49) await sleep(5); // let the loop breathe; UDP would drop otherwise
        }
        await sleep(100);
        for (const c of [evil, good]) {
          const r = await c.request('0.02', [...path(), opt(O.ContentFormat, 0)], 'still alive');
          assert.equal(r.code, '2.04');
        }
        assert.ok(
          !warns.some((w) => w === 'coap datagram dropped'),
          `node-coap threw on a datagram: ${warns.join(', ')}`,
        );
      } finally {
        evil.close();
        good.close();
        await server.close();
      }
    });
  }

  it('answers a malformed Confirmable with Reset and a CoAP ping with Reset (RFC 7252 §4.2, §4.3)', async () => {
    const server = await startCoapServer({
      port: 0,
      host: '127.0.0.1',
      hooks: new FakeHooks(),
      maxPayloadBytes: 64,
    });
    const c = await RawClient.open(server.port);
    try {
      c.raw(Buffer.from([0x4f, 0x01, 0x12, 0x34])); // CON with TKL 15: format error
      const rst = await c.wait((m) => m.mid === 0x1234);
      assert.equal(rst.type, 3);
      assert.equal(rst.code, '0.00');
      c.raw(Buffer.from([0x40, 0x00, 0x43, 0x21])); // empty CON: ping
      assert.equal((await c.wait((m) => m.mid === 0x4321)).type, 3);
      const from = c.received.length;
      c.raw(Buffer.from([0x5f, 0x01, 0x55, 0x55])); // NON with TKL 15: silently ignored
      c.raw(Buffer.from([0x80, 0x01, 0x66, 0x66])); // version 2: silently ignored
      await sleep(100);
      assert.equal(c.received.length, from);
    } finally {
      c.close();
      await server.close();
    }
  });
});

/** Block1 uploads (RFC 7959 §2.3): reassembly, bounds, and what node-coap got wrong. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { O, path, sleep, startServer, type FakeHooks } from './helpers.js';
import { RawClient, opt, option, uint, type Msg } from './wire.js';
import type { CoapServer } from '../../src/coap/index.js';

/** Block option value (RFC 7959 §2.2). */
const blk = (num: number, more: boolean, szx: number): number => (num << 4) | (more ? 8 : 0) | szx;

describe('CoAP block-wise POST (Block1)', () => {
  let server: CoapServer & { port: number };
  let hooks: FakeHooks;
  let c: RawClient;
  before(async () => {
    ({ server, hooks } = await startServer(
      { maxTransfersPerSource: 2, transferTimeoutMs: 300 },
      1000,
    ));
    c = await RawClient.open(server.port);
  });
  after(async () => {
    c.close();
    await server.close();
  });

  /** Uploads body in blocks of 2^(szx+4) bytes, a fresh token per block as libcoap does. */
  async function upload(body: Buffer, szx: number, extra: [number, Buffer][] = []): Promise<Msg[]> {
    const size = 1 << (szx + 4);
    const out: Msg[] = [];
    for (let num = 0; num * size < body.length || num === 0; num++) {
      const more = (num + 1) * size < body.length;
      const part = body.subarray(num * size, (num + 1) * size);
      const r = await c.request(
        '0.02',
        [...path(), opt(O.ContentFormat, 42), opt(O.Block1, blk(num, more, szx)), ...extra],
        part,
      );
      out.push(r);
      if (r.code !== '2.31') break;
    }
    return out;
  }

  it('reassembles a body larger than one block; 2.31 per block, 2.04 echoing Block1 at the end', async () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    const rs = await upload(body, 2); // 64-byte blocks → 5 blocks
    assert.deepEqual(
      rs.map((r) => r.code),
      ['2.31', '2.31', '2.31', '2.31', '2.04'],
    );
    assert.equal(uint(option(rs[0]!, O.Block1)), blk(0, true, 2));
    assert.equal(uint(option(rs[4]!, O.Block1)), blk(4, false, 2));
    assert.deepEqual(Buffer.from(hooks.ingested.at(-1)!.m.payload), body);
    assert.equal(hooks.ingested.at(-1)!.m.contentType, 'application/octet-stream');
  });

  it('keeps bodies apart by Request-Tag (RFC 9175)', async () => {
    const tagA = [opt(O.RequestTag, Buffer.from([1]))];
    const tagB = [opt(O.RequestTag, Buffer.from([2]))];
    const send = (
      num: number,
      more: boolean,
      tag: [number, Buffer][],
      fill: number,
    ): Promise<Msg> =>
      c.request(
        '0.02',
        [...path(), opt(O.Block1, blk(num, more, 0)), ...tag],
        Buffer.alloc(16, fill),
      );
    assert.equal((await send(0, true, tagA, 0xaa)).code, '2.31');
    assert.equal((await send(0, true, tagB, 0xbb)).code, '2.31');
    assert.equal((await send(1, false, tagA, 0xaa)).code, '2.04');
    assert.deepEqual(Buffer.from(hooks.ingested.at(-1)!.m.payload), Buffer.alloc(32, 0xaa));
    assert.equal((await send(1, false, tagB, 0xbb)).code, '2.04');
    assert.deepEqual(Buffer.from(hooks.ingested.at(-1)!.m.payload), Buffer.alloc(32, 0xbb));
  });

  it('answers 4.13 with Size1 when the body outgrows maxPayloadBytes, or Size1 announces it', async () => {
    const rs = await upload(Buffer.alloc(1100, 7), 4); // 256-byte blocks, limit 1000
    assert.equal(rs.at(-1)!.code, '4.13');
    assert.equal(uint(option(rs.at(-1)!, O.Size1)), 1000);
    const early = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(0, true, 4)), opt(O.Size1, 5000)],
      Buffer.alloc(256),
    );
    assert.equal(early.code, '4.13');
  });

  it('answers 4.08 for a block out of sequence or of no body in progress', async () => {
    const r = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(3, true, 0))],
      Buffer.alloc(16),
    );
    assert.equal(r.code, '4.08');
    assert.equal(
      (await c.request('0.02', [...path(), opt(O.Block1, blk(0, true, 0))], Buffer.alloc(16))).code,
      '2.31',
    );
    const skip = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(2, false, 0))],
      Buffer.alloc(16),
    );
    assert.equal(skip.code, '4.08');
  });

  it('answers 4.00 for a block whose size does not match SZX, or the reserved SZX 7', async () => {
    const short = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(0, true, 2))],
      Buffer.alloc(10),
    );
    assert.equal(short.code, '4.00');
    const bert = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(0, true, 7))],
      Buffer.alloc(16),
    );
    assert.equal(bert.code, '4.00');
  });

  it('bounds concurrent transfers per source (5.03 + Max-Age) and drops stale ones after the timeout', async () => {
    const start = (tag: number): Promise<Msg> =>
      c.request(
        '0.02',
        [...path(), opt(O.Block1, blk(0, true, 0)), opt(O.RequestTag, Buffer.from([tag]))],
        Buffer.alloc(16),
      );
    assert.equal((await start(11)).code, '2.31');
    assert.equal((await start(12)).code, '2.31');
    const third = await start(13);
    assert.equal(third.code, '5.03');
    assert.ok(uint(option(third, O.MaxAge))! > 0);
    await sleep(400); // transferTimeoutMs 300
    assert.equal((await start(13)).code, '2.31');
    const cont = await c.request(
      '0.02',
      [...path(), opt(O.Block1, blk(1, false, 0)), opt(O.RequestTag, Buffer.from([11]))],
      Buffer.alloc(16),
    );
    assert.equal(cont.code, '4.08', 'the timed-out transfer is gone');
  });

  it('authenticates every block: without credentials nothing is buffered', async () => {
    const r = await c.request(
      '0.02',
      [...path(undefined, [], null), opt(O.Block1, blk(0, true, 0))],
      Buffer.alloc(16),
    );
    assert.equal(r.code, '4.01');
  });
});

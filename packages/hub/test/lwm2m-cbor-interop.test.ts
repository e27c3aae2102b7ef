/**
 * Core's own CBOR codec (`core/src/lwm2m/cbor.ts`, for SenML CBOR in LwM2M — core imports no
 * libraries) against cbor-x, the CBOR library `@bulwark/senml` uses: each reads what the other
 * writes, over a seeded set of SenML-shaped packs. No hub is started.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder } from 'cbor-x/decode';
import { Encoder } from 'cbor-x/encode';
import { decodeCbor, decodeContent, encodeCbor, type CborValue } from '@bulwark/core';

const cborx = {
  enc: new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false }),
  dec: new Decoder({ mapsAsObjects: false, useRecords: false }),
};

/** A seeded pack of SenML-like records (ints of every width, floats, text, bytes, booleans). */
function pack(seed: number): Map<CborValue, CborValue>[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const value = (): CborValue => {
    const k = Math.floor(rnd() * 7);
    if (k === 0) return Math.floor(rnd() * 2 ** (1 + Math.floor(rnd() * 52)));
    if (k === 1) return -Math.floor(rnd() * 2 ** (1 + Math.floor(rnd() * 52))) - 1;
    if (k === 2) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12);
    if (k === 3) return 'é'.repeat(Math.floor(rnd() * 300));
    if (k === 4) return Uint8Array.from({ length: Math.floor(rnd() * 70) }, () => rnd() * 256);
    return rnd() < 0.5;
  };
  return Array.from({ length: 1 + Math.floor(rnd() * 30) }, (_, i) => {
    const m = new Map<CborValue, CborValue>();
    if (i === 0) m.set(-2, '/3/0/');
    m.set(0, String(Math.floor(rnd() * 30)));
    m.set(2, value());
    if (rnd() < 0.3) m.set(6, -rnd() * 100);
    return m;
  });
}

/**
 * cbor-x gives byte strings as Buffers and 64-bit integers as bigints; core gives Uint8Arrays and
 * numbers (it refuses integers beyond 2^53): compare them as the latter.
 */
const plain = (v: unknown): unknown =>
  typeof v === 'bigint'
    ? Number(v)
    : v instanceof Uint8Array
      ? Uint8Array.from(v)
      : Array.isArray(v)
        ? v.map(plain)
        : v instanceof Map
          ? new Map([...v].map(([k, x]) => [plain(k), plain(x)]))
          : v;

describe("core's CBOR against cbor-x", () => {
  it('each decodes what the other encodes (200 seeded packs)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const p = pack(seed);
      const byCborx = Uint8Array.from(cborx.enc.encode(p));
      assert.deepEqual(decodeCbor(byCborx), plain(cborx.dec.decode(byCborx)), `seed ${seed}`);
      const ours = encodeCbor(p);
      assert.deepEqual(plain(cborx.dec.decode(ours)), p, `seed ${seed}`);
    }
  });

  it('a SenML pack written by cbor-x decodes to LwM2M records', () => {
    const b = cborx.enc.encode([
      new Map<number, unknown>([
        [-2, '/3303/0/'],
        [-3, 1700000000],
        [0, '5700'],
        [2, 21.5],
        [6, -10],
      ]),
      new Map<number, unknown>([
        [0, '5701'],
        [3, 'Cel'],
      ]),
    ]);
    assert.deepEqual(decodeContent(112, Uint8Array.from(b), [3303, 0]), [
      { path: '/3303/0/5700', value: 21.5, time: 1699999990 },
      { path: '/3303/0/5701', value: 'Cel', time: 1700000000 },
    ]);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { encodeSenml, parseSenml, type SenmlRecord } from '@bulwark/senml';
import { NOW, assertInvalid, cbor, json } from './helpers.js';

const JSON_CT = 'application/senml+json';
const CBOR_CT = 'application/senml+cbor';

/** mulberry32: a small seeded PRNG, so every run checks the same cases. */
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

const sample = [
  { n: 'urn:dev:ow:10e2073a01080063:temp', u: 'Cel', v: 23.1, t: 1.320067464e9 },
  { n: 'urn:dev:ow:10e2073a01080063:label', vs: 'Machine Room', t: 1.320067464e9 },
  { n: 'urn:dev:ow:10e2073a01080063:open', vb: false, t: 1.320067465e9, ut: 30 },
  { n: 'urn:dev:ow:10e2073a01080063:nfc-reader', vd: 'aGkgCg', t: 1.320067466e9 },
  { n: 'meter/energy', u: 'J', s: 1234.5, t: 1.320067467e9 },
  { n: 'meter/power', u: 'W', v: -0.25, s: 99, t: 1.320067468e9 },
] satisfies SenmlRecord[];

describe('encodeSenml → parseSenml', () => {
  it('round-trips resolved records through JSON and CBOR unchanged', () => {
    for (const format of ['json', 'cbor'] as const) {
      const ct = format === 'json' ? JSON_CT : CBOR_CT;
      assert.deepEqual(parseSenml(ct, encodeSenml(sample, format), { now: NOW }), sample);
    }
  });

  it('writes JSON labels and CBOR integer labels with "vd" as a byte string (§5, §6)', () => {
    const record = [{ n: 'x', vd: 'aGkgCg', t: 1.5e9 }];
    assert.equal(
      new TextDecoder().decode(encodeSenml(record, 'json')),
      '[{"n":"x","vd":"aGkgCg","t":1500000000}]',
    );
    assert.deepEqual(encodeSenml(record, 'cbor'), cbor(record));
  });

  it('refuses to encode what parseSenml would refuse', () => {
    assertInvalid(
      () => encodeSenml([{ n: 'bad name', v: 1, t: 1.5e9 }], 'json'),
      /^records\[0\]\.n: name/,
    );
    assertInvalid(() => encodeSenml([{ n: 'x', t: 1.5e9 }], 'cbor'), /^records\[0\]: has no value/);
    assertInvalid(() => encodeSenml([{ n: 'x', v: 1, vs: 'a', t: 1.5e9 }], 'json'), /has v and vs/);
    assertInvalid(
      () => encodeSenml([{ n: 'x', v: NaN, t: 1.5e9 }], 'cbor'),
      /^records\[0\]\.v: must be a finite number/,
    );
    assertInvalid(
      () => encodeSenml([{ n: 'x', vd: 'not base64!', t: 1.5e9 }], 'cbor'),
      /^records\[0\]\.vd/,
    );
    assertInvalid(() => encodeSenml([], 'json'), /at least one record/);
    const withBase = { n: 'x', v: 1, t: 1.5e9, bn: 'y' } as SenmlRecord;
    assertInvalid(
      () => encodeSenml([withBase], 'json'),
      /^records\[0\]\.bn: is not a resolved SenML field/,
    );
    assertInvalid(
      () => encodeSenml([{ v: 1, t: 1.5e9 } as SenmlRecord], 'json'),
      /^records\[0\]\.n: name is empty/,
    );
  });
});

describe('property: the JSON and CBOR paths agree', () => {
  it('on 500 random packs with base fields, relative times and every value type', () => {
    const rand = prng(8428);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const num = (): number =>
      pick([
        () => Math.floor(rand() * 2000) - 1000,
        () => (rand() - 0.5) * 1e6,
        () => rand() * 1e-3,
        () => 2 ** 40 + Math.floor(rand() * 1000),
      ])();
    const NAME = 'abcXYZ019:./_-';
    const name = (first: boolean): string =>
      Array.from({ length: 1 + Math.floor(rand() * 8) }, (_, i) =>
        i === 0 && first ? pick([...'aZ9']) : pick([...NAME]),
      ).join('');
    const bytes = (): string =>
      Buffer.from(
        Array.from({ length: Math.floor(rand() * 12) }, () => Math.floor(rand() * 256)),
      ).toString('base64url');

    for (let round = 0; round < 500; round++) {
      const pack: Record<string, unknown>[] = [];
      const length = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < length; i++) {
        const r: Record<string, unknown> = {};
        if (i === 0 || rand() < 0.2) r.bn = name(true);
        if (rand() < 0.2) r.bt = rand() < 0.5 ? 1.6e9 + num() : num();
        if (rand() < 0.2) r.bu = pick(['Cel', '%RH', 'W', 'J']);
        if (rand() < 0.2) r.bv = num();
        if (rand() < 0.2) r.bs = num();
        if (rand() < 0.1) r.bver = pick([5, 10]);
        const baseOnly = i > 0 && rand() < 0.1;
        if (baseOnly) r.bu ??= 'Cel';
        else {
          if (rand() < 0.6) r.n = name(false);
          if (rand() < 0.3) r.u = pick(['V', 'A', '/', 'lon']);
          if (rand() < 0.5) r.t = rand() < 0.5 ? -Math.floor(rand() * 3600) : num();
          if (rand() < 0.2) r.ut = Math.floor(rand() * 600);
          if (rand() < 0.2) r.s = num();
          const kind = pick(['v', 'v', 'vs', 'vb', 'vd', r.s === undefined ? 'v' : 'none']);
          if (kind === 'v') r.v = num();
          if (kind === 'vs') r.vs = name(false) + ' ✓';
          if (kind === 'vb') r.vb = rand() < 0.5;
          if (kind === 'vd') r.vd = bytes();
        }
        if (rand() < 0.05) r.ext = { x: [1, 'two'] };
        pack.push(r);
      }
      const fromJson = parseSenml(JSON_CT, json(pack), { now: NOW });
      const fromCbor = parseSenml(CBOR_CT, cbor(pack), { now: NOW });
      assert.deepEqual(fromCbor, fromJson, JSON.stringify(pack));
      // And the resolved records survive their own encoding in both forms.
      for (const format of ['json', 'cbor'] as const) {
        const ct = format === 'json' ? JSON_CT : CBOR_CT;
        assert.deepEqual(parseSenml(ct, encodeSenml(fromJson, format), { now: NOW }), fromJson);
      }
    }
  });
});

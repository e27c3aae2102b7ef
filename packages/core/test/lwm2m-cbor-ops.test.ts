/**
 * SenML CBOR (Content-Format 112) against the examples of OMA-TS-LightweightM2M-V1_1 Core §7.4.5
 * (as Eclipse Wakaama's data tests carry them), byte for byte both ways; core's own CBOR codec
 * (cbor-x is its reference in `hub/test/lwm2m-cbor-interop.test.ts`); the checks of Create, Delete and Write-Attributes (decision 0043,
 * 2026-12-07).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import {
  CborError,
  type CborValue,
  decodeCbor,
  encodeCbor,
  attributeQuery,
  checkAttributes,
  checkCreate,
  checkDelete,
  decodeContent,
  encodeSenmlCbor,
  LWM2M_FORMATS,
} from '../src/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const cbor = (b: Uint8Array, base: number[] = []) =>
  decodeContent(LWM2M_FORMATS.senmlCbor, b, base);

// Core §7.4.5: Read /3/0 of the Device object in SenML CBOR (16 records, base name "/3/0/").
const DEVICE = hex(
  '90a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a200613103764c6967687477' +
    '6569676874204d324d20436c69656e74a20061320369333435303030313233a20061330363312e30a2006336' +
    '2f300201a20063362f310205a20063372f3002190ed8a20063372f3102191388a20063382f3002187da200' +
    '63382f3102190384a2006139021864a200623130020fa2006431312f300200a200623133021a5182428fa2' +
    '0062313403662b30323a3030a200623136036155',
);
// Core §7.4.5: a notification of /72 with a base time and three relative times.
const TIMED = hex(
  '83a521642f37322f221a0184876a0063312f3202fb40366666666666660624a30063312f3202fb4036e666666666' +
    '6606381da30063312f3202fb403819999999999a063831',
);

const invalid = (e: unknown) => e instanceof BulwarkError && e.code === 'validation_failed';

describe('SenML CBOR (LwM2M 1.1 Core §7.4.5)', () => {
  it('decodes the Device object example, typed, and encodes it back byte for byte', () => {
    const recs = cbor(DEVICE, [3, 0]);
    assert.equal(recs.length, 16);
    const by = Object.fromEntries(recs.map((r) => [r.path, r.value]));
    assert.equal(by['/3/0/0'], 'Open Mobile Alliance');
    assert.equal(by['/3/0/1'], 'Lightweight M2M Client');
    assert.equal(by['/3/0/6/1'], 5);
    assert.equal(by['/3/0/7/0'], 3800);
    assert.equal(by['/3/0/9'], 100);
    assert.equal(by['/3/0/13'], 1367491215);
    assert.equal(by['/3/0/14'], '+02:00');
    assert.equal(by['/3/0/16'], 'U');
    assert.equal(
      Buffer.from(encodeSenmlCbor(recs, '/3/0/')).toString('hex'),
      DEVICE.toString('hex'),
    );
  });

  it('resolves base time and relative times', () => {
    const recs = cbor(TIMED, [72]);
    assert.deepEqual(recs, [
      { path: '/72/1/2', value: 22.4, time: 25462634 - 5 },
      { path: '/72/1/2', value: 22.9, time: 25462634 - 30 },
      { path: '/72/1/2', value: 24.1, time: 25462634 - 50 },
    ]);
  });

  it('reads data, booleans, object links; ignores units', () => {
    const pack = [
      new Map<CborValue, CborValue>([
        [-2, '/31024/0/'],
        [0, '1'],
        [4, true],
      ]),
      new Map<CborValue, CborValue>([
        [0, '2'],
        [8, Uint8Array.of(1, 2, 255)],
      ]),
      new Map<CborValue, CborValue>([
        [0, '3'],
        ['vlo', '3:0'],
        [1, 'Cel'], // a unit: carried, not used
      ]),
    ];
    assert.deepEqual(cbor(encodeCbor(pack)), [
      { path: '/31024/0/1', value: true },
      { path: '/31024/0/2', value: 'AQL/' },
      { path: '/31024/0/3', value: '3:0' },
    ]);
  });

  it('refuses malformed input as validation_failed (the wire answers 4.00)', () => {
    const bad = [
      '81a1', // truncated
      'a10061 41'.replace(' ', ''), // a map, not an array
      '8101', // a record that is not a map
      '81a200613118630 1'.replace(' ', ''), // unknown integer label 99
      '81a20062 2f7802 01'.replace(/ /g, ''), // a name that is no LwM2M path
      '81a2006131 02 63 616263'.replace(/ /g, ''), // "v" as text
      '81a10061310000', // trailing bytes
      '81a2006131 02 c1 1a01020304'.replace(/ /g, ''), // a tagged date as "v"
    ];
    for (const b of bad) assert.throws(() => cbor(hex(b)), invalid, b);
  });
});

describe("core's CBOR (RFC 8949)", () => {
  it('decodes indefinite lengths, half/single/double floats, negative and 64-bit integers', () => {
    assert.deepEqual(decodeCbor(hex('9f01820203ff')), [1, [2, 3]]);
    assert.deepEqual(decodeCbor(hex('bf616101ff')), new Map([['a', 1]]));
    assert.equal(decodeCbor(hex('f93e00')), 1.5);
    assert.equal(decodeCbor(hex('f90001')), 5.960464477539063e-8);
    assert.equal(decodeCbor(hex('fa47c35000')), 100000);
    assert.equal(decodeCbor(hex('fb3ff199999999999a')), 1.1);
    assert.equal(decodeCbor(hex('3903e7')), -1000);
    assert.equal(decodeCbor(hex('1b001fffffffffffff')), Number.MAX_SAFE_INTEGER);
    assert.deepEqual(decodeCbor(hex('83f4f5f6')), [false, true, null]);
  });

  it('refuses what SenML never carries, and malformed input', () => {
    for (const b of [
      '', // nothing
      '1b0020000000000000', // beyond 2^53
      'c11a01020304', // a tag
      'f7', // undefined
      'e0', // an unassigned simple value
      '7f6161ff', // an indefinite text string
      '62c328', // invalid UTF-8
      'a2616101616102', // a duplicate key
      '9a7fffffff', // a count beyond the data
      'ff', // a lone break
      '1c', // reserved additional information
      '0101', // trailing bytes
      '81'.repeat(18) + '00', // nested 18 deep
    ]) {
      assert.throws(() => decodeCbor(hex(b)), CborError, b);
    }
  });

  it('encodes integers shortest, other numbers as doubles, and round-trips', () => {
    assert.equal(
      Buffer.from(encodeCbor([0, 23, 24, 255, 256, 65536, -1, -25])).toString('hex'),
      '880017181818ff1901001a000100002038 18'.replace(' ', ''),
    );
    const v = new Map<CborValue, CborValue>([
      [-2, '/3/0/'],
      [2, 22.4],
      [4, true],
      [8, Uint8Array.of(0, 255)],
      ['x', null],
    ]);
    assert.deepEqual(decodeCbor(encodeCbor([v])), [v]);
  });
});

describe('Create, Delete and Write-Attributes checks', () => {
  it('Create takes an object path, never /0 or /1, and scalar values', () => {
    const c = checkCreate('/31024', 5, { '1': 7, '5': 'x' });
    assert.deepEqual(
      { ...c, values: [...c.values] },
      {
        path: '/31024',
        instance: 5,
        values: [
          [1, 7],
          [5, 'x'],
        ],
      },
    );
    for (const [p, i, v] of [
      ['/0', undefined, {}],
      ['/1', 0, {}],
      ['/31024/1', undefined, {}],
      ['/31024', 65535, {}],
      ['/31024', -1, {}],
      ['/31024', undefined, { x: 1 }],
      ['/31024', undefined, { '1': { deep: 1 } }],
      ['/31024', undefined, { '1': Number.NaN }],
      ['/31024', undefined, []],
    ] as const) {
      assert.throws(() => checkCreate(p, i, v), invalid, `${p} ${String(i)}`);
    }
  });

  it('Delete takes an object instance, never of /0 or /1', () => {
    assert.equal(checkDelete('31024/5'), '/31024/5');
    for (const p of ['/0/0', '/1/1', '/31024', '/31024/5/1', 'x', 7])
      assert.throws(() => checkDelete(p), invalid, String(p));
  });

  it('attributes: pmin ≤ pmax, lt + 2·st < gt, null removes one; the query', () => {
    const a = checkAttributes({ pmin: 10, pmax: 60, gt: 30.5, lt: 10, st: 2 });
    assert.deepEqual(attributeQuery(a), ['pmin=10', 'pmax=60', 'gt=30.5', 'lt=10', 'st=2']);
    assert.deepEqual(attributeQuery(checkAttributes({ pmax: null })), ['pmax']);
    for (const bad of [
      {},
      { pmin: 61, pmax: 60 },
      { gt: 10, lt: 9, st: 1 },
      { pmin: 1.5 },
      { pmin: -1 },
      { st: -1 },
      { gt: Number.POSITIVE_INFINITY },
      { epmin: 1 },
      { pmin: '1' },
      [],
    ]) {
      assert.throws(() => checkAttributes(bad), invalid, JSON.stringify(bad));
    }
  });
});

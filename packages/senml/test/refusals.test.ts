import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import { parseSenml } from '@bulwark/senml';
import { NOW, assertInvalid, cbor, cborRaw, json } from './helpers.js';

const JSON_CT = 'application/senml+json';
const CBOR_CT = 'application/senml+cbor';

/** Asserts a pack is refused in both representations with a message matching `message`. */
function refusedBoth(pack: Record<string, unknown>[], message: RegExp): void {
  assertInvalid(() => parseSenml(JSON_CT, json(pack), { now: NOW }), message);
  assertInvalid(() => parseSenml(CBOR_CT, cbor(pack), { now: NOW }), message);
}

describe('RFC 8428 refusals: the whole pack, with senml_invalid naming the record and field', () => {
  it('refuses a top level that is not an array', () => {
    assertInvalid(() => parseSenml(JSON_CT, json({ n: 'x', v: 1 })), /must be a JSON array/);
    assertInvalid(() => parseSenml(CBOR_CT, cborRaw(new Map([[0, 'x']]))), /must be a CBOR array/);
    assertInvalid(() => parseSenml(JSON_CT, json('x')), /must be a JSON array/);
  });

  it('refuses an empty pack (§2: one or more records)', () => {
    assertInvalid(() => parseSenml(JSON_CT, json([])), /at least one record/);
    assertInvalid(() => parseSenml(CBOR_CT, cborRaw([])), /at least one record/);
  });

  it('refuses a record that is not a map', () => {
    assertInvalid(
      () => parseSenml(JSON_CT, json([{ n: 'x', v: 1 }, [1]])),
      /^records\[1\]: must be a JSON object/,
    );
    assertInvalid(() => parseSenml(JSON_CT, json([null])), /^records\[0\]: must be a JSON object/);
    assertInvalid(
      () =>
        parseSenml(
          CBOR_CT,
          cborRaw([
            new Map<number, unknown>([
              [0, 'x'],
              [2, 1],
            ]),
            'x',
          ]),
        ),
      /^records\[1\]: must be a CBOR map/,
    );
  });

  it('refuses an empty name (§4.5.1)', () => {
    refusedBoth([{ v: 1 }], /^records\[0\]\.n: name is empty/);
    refusedBoth([{ bn: '', n: '', v: 1 }], /^records\[0\]\.n: name is empty/);
  });

  it('refuses names with characters outside the §4.5.1 set, or a bad first character', () => {
    for (const name of [
      'temp sensor',
      'a#b',
      'café',
      'http://[2001:db8::3]/',
      '-a',
      '.a',
      ':a',
      '_a',
      '/a',
    ]) {
      refusedBoth([{ n: name, v: 1 }], /^records\[0\]\.n: name ".*" must start with/);
    }
    // It is the concatenation that is checked: a good n after a bad bn is still bad.
    refusedBoth([{ bn: 'dev 1/', n: 'temp', v: 1 }], /records\[0\]\.n: name "dev 1\/temp"/);
  });

  it('refuses two value fields in one record (§4.2: exactly one)', () => {
    refusedBoth(
      [
        { n: 'x', v: 1 },
        { n: 'x', v: 1, vs: '1' },
      ],
      /^records\[1\]: has v and vs; at most one value/,
    );
    refusedBoth([{ n: 'x', vb: true, vd: 'AA' }], /^records\[0\]: has vb and vd/);
  });

  it('refuses a record with neither a value nor a sum (§4.2)', () => {
    refusedBoth(
      [{ n: 'x', u: 'Cel' }],
      /^records\[0\]: has no value \(v, vs, vb or vd\) and no sum/,
    );
    refusedBoth([{ bn: 'x', t: 5 }], /^records\[0\]: has no value/);
    refusedBoth([{ n: 'x', v: 1 }, {}], /^records\[1\]: has no value/);
    refusedBoth([{ n: 'x', v: 1 }, { foo: 1 }], /^records\[1\]: has no value/);
  });

  it('refuses fields of the wrong type', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ n: 'x', v: '1' }, /^records\[0\]\.v: must be a number, got a string/],
      [{ n: 'x', vs: 1 }, /^records\[0\]\.vs: must be a string/],
      [{ n: 'x', vb: 'true' }, /^records\[0\]\.vb: must be a boolean/],
      [{ n: 7, v: 1 }, /^records\[0\]\.n: must be a string/],
      [{ n: 'x', u: null, v: 1 }, /^records\[0\]\.u: must be a string, got null/],
      [{ n: 'x', v: 1, t: '5' }, /^records\[0\]\.t: must be a number/],
      [{ n: 'x', v: 1, ut: true }, /^records\[0\]\.ut: must be a number/],
      [{ n: 'x', s: [1] }, /^records\[0\]\.s: must be a number, got an array/],
      [{ bn: 1, v: 1 }, /^records\[0\]\.bn: must be a string/],
      [{ bt: '0', n: 'x', v: 1 }, /^records\[0\]\.bt: must be a number/],
      [{ bu: 1, n: 'x', v: 1 }, /^records\[0\]\.bu: must be a string/],
      [{ bv: false, n: 'x', v: 1 }, /^records\[0\]\.bv: must be a number/],
      [{ bs: {}, n: 'x', s: 1 }, /^records\[0\]\.bs: must be a number, got an? (object|map)/],
      [{ bver: 9.5, n: 'x', v: 1 }, /^records\[0\]\.bver: must be a positive integer/],
      [{ bver: 0, n: 'x', v: 1 }, /^records\[0\]\.bver: must be a positive integer/],
    ];
    for (const [record, message] of cases) refusedBoth([record], message);
  });

  it('refuses a "vd" that is not unpadded base64url in JSON, or not a byte string in CBOR', () => {
    for (const vd of ['aGkgCg==', 'aGk+Cg', 'aGk/Cg', 'a', 'aGkgCh', 'a b']) {
      assertInvalid(
        () => parseSenml(JSON_CT, json([{ n: 'x', vd }])),
        /^records\[0\]\.vd: must be unpadded base64url/,
      );
    }
    assertInvalid(
      () => parseSenml(JSON_CT, json([{ n: 'x', vd: 5 }])),
      /^records\[0\]\.vd: must be a base64url string/,
    );
    assertInvalid(
      () =>
        parseSenml(
          CBOR_CT,
          cborRaw([
            new Map<number, unknown>([
              [0, 'x'],
              [8, 'aGkgCg'],
            ]),
          ]),
        ),
      /^records\[0\]\.vd: must be a byte string, got a string/,
    );
  });

  it('refuses NaN and ±Infinity (CBOR can carry them; JSON overflows to them)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const label of [2, 5, 6, 7, -3, -5, -6]) {
        const record = new Map<number, unknown>([
          [0, 'x'],
          [2, 1],
          [label, bad],
        ]);
        assertInvalid(() => parseSenml(CBOR_CT, cborRaw([record])), /: must be a finite number/);
      }
    }
    const overflow = new TextEncoder().encode('[{"n":"x","v":1e999}]');
    assertInvalid(
      () => parseSenml(JSON_CT, overflow),
      /^records\[0\]\.v: must be a finite number, got Infinity/,
    );
    // Finite parts whose sum overflows are refused too.
    refusedBoth(
      [{ bv: 1.7e308, n: 'x', v: 1.7e308 }],
      /^records\[0\]\.v: plus its base value is not finite/,
    );
  });

  it('refuses a version newer than 10 (§4.4)', () => {
    refusedBoth(
      [{ bver: 11, n: 'x', v: 1 }],
      /^records\[0\]\.bver: version 11 is newer than the supported version 10/,
    );
    refusedBoth([{ n: 'x', v: 1 }, { bver: 99 }], /^records\[1\]\.bver: version 99/);
  });

  it('refuses a must-understand field (label ending in "_", §4.4)', () => {
    refusedBoth(
      [
        { n: 'x', v: 1 },
        { n: 'y', v: 2, foo_: 1 },
      ],
      /^records\[1\]\.foo_: is a must-understand field/,
    );
  });

  it('refuses CBOR integer labels outside Table 6, and registered labels sent as text (§6)', () => {
    assertInvalid(
      () =>
        parseSenml(
          CBOR_CT,
          cborRaw([
            new Map<number, unknown>([
              [0, 'x'],
              [2, 1],
              [9, 1],
            ]),
          ]),
        ),
      /^records\[0\]\.9: is not a SenML CBOR label/,
    );
    assertInvalid(
      () =>
        parseSenml(
          CBOR_CT,
          cborRaw([
            new Map<unknown, unknown>([
              ['n', 'x'],
              [2, 1],
            ]),
          ]),
        ),
      /^records\[0\]\.n: must use the integer CBOR label 0/,
    );
    assertInvalid(
      () =>
        parseSenml(
          CBOR_CT,
          cborRaw([
            new Map<unknown, unknown>([
              [0, 'x'],
              [2, 1],
              [true, 1],
            ]),
          ]),
        ),
      /^records\[0\]: has a map key that is neither an integer nor a text string/,
    );
  });

  it('refuses unsupported content types', () => {
    for (const ct of [
      'application/json',
      'application/sensml+json',
      'application/senml-exi',
      'application/senml+xml',
      'text/plain',
      '',
    ]) {
      assertInvalid(() => parseSenml(ct, json([{ n: 'x', v: 1 }])), /^unsupported content type/);
    }
  });

  it('refuses malformed JSON, malformed UTF-8 and malformed CBOR bytes', () => {
    const bytes = (...b: number[]) => new Uint8Array(b);
    assertInvalid(
      () => parseSenml(JSON_CT, new TextEncoder().encode('[{"n":"x","v":1}')),
      /^malformed JSON/,
    );
    assertInvalid(() => parseSenml(JSON_CT, new TextEncoder().encode('')), /^malformed JSON/);
    assertInvalid(
      () => parseSenml(JSON_CT, bytes(0x5b, 0x22, 0xff, 0x22, 0x5d)),
      /^malformed JSON/,
    );
    // Truncated array, a map cut short, a stray break code, and trailing bytes after the pack.
    assertInvalid(() => parseSenml(CBOR_CT, bytes(0x82, 0xa1, 0x00)), /^malformed CBOR/);
    assertInvalid(
      () => parseSenml(CBOR_CT, bytes(0x81, 0xa2, 0x00, 0x61, 0x78)),
      /^malformed CBOR/,
    );
    assertInvalid(() => parseSenml(CBOR_CT, bytes(0xff)), /^malformed CBOR/);
    assertInvalid(
      () => parseSenml(CBOR_CT, new Uint8Array([...cbor([{ n: 'x', v: 1 }]), 0x00])),
      /^malformed CBOR/,
    );
    assertInvalid(() => parseSenml(CBOR_CT, bytes()), /^malformed CBOR/);
  });

  it('refuses more records than the limit (default 1000)', () => {
    const pack = (count: number) => Array.from({ length: count }, (_, i) => ({ n: `s${i}`, v: i }));
    assert.equal(parseSenml(JSON_CT, json(pack(1000)), { now: NOW }).length, 1000);
    assertInvalid(
      () => parseSenml(JSON_CT, json(pack(1001))),
      /holds 1001 records, more than the limit of 1000/,
    );
    assertInvalid(
      () => parseSenml(CBOR_CT, cbor(pack(1001))),
      /holds 1001 records, more than the limit of 1000/,
    );
    assertInvalid(
      () => parseSenml(JSON_CT, json(pack(3)), { maxRecords: 2 }),
      /more than the limit of 2/,
    );
  });

  it('refuses the whole pack when only its last record is bad', () => {
    const pack = [
      { n: 'ok1', v: 1 },
      { n: 'ok2', v: 2 },
      { n: 'bad name', v: 3 },
    ];
    refusedBoth(pack, /^records\[2\]\.n/);
  });

  it('puts the record index and field in the error for machines too', () => {
    try {
      parseSenml(
        JSON_CT,
        json([
          { n: 'x', v: 1 },
          { n: 'y', vb: 1 },
        ]),
      );
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(err instanceof BulwarkError);
      assert.equal(err.kind, 'invalid');
      assert.deepEqual(err.extra, { record: 1, field: 'vb' });
    }
  });
});

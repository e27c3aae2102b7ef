import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RELATIVE_TIME_LIMIT, parseSenml } from '@bulwark/senml';
import { NOW, cbor, json } from './helpers.js';

const parseBoth = (pack: Record<string, unknown>[], now = NOW) => {
  const fromJson = parseSenml('application/senml+json', json(pack), { now });
  assert.deepEqual(parseSenml('application/senml+cbor', cbor(pack), { now }), fromJson);
  return fromJson;
};

describe('RFC 8428 §4.5.3 time', () => {
  it('a missing time means "now"; a negative one is seconds before now', () => {
    const [a, b] = parseBoth([
      { n: 'a', v: 1, t: -30 },
      { n: 'b', v: 1 },
    ]);
    assert.equal(a?.t, NOW / 1000 - 30);
    assert.equal(b?.t, NOW / 1000);
  });

  it('positive times below 2^28 are seconds after now; 2^28 and above are epoch seconds', () => {
    const out = parseBoth([
      { n: 'soon', v: 1, t: 0.02 },
      { n: 'absolute', v: 1, t: RELATIVE_TIME_LIMIT },
    ]);
    const soon = out.find((r) => r.n === 'soon');
    const absolute = out.find((r) => r.n === 'absolute');
    assert.equal(RELATIVE_TIME_LIMIT, 268_435_456);
    assert.equal(soon?.t, NOW / 1000 + 0.02);
    assert.equal(absolute?.t, RELATIVE_TIME_LIMIT);
  });

  it('bt + t decides: a relative bt plus t stays relative, an absolute bt makes t an offset', () => {
    const rel = parseBoth([{ bt: -10, n: 'x', v: 1, t: 4 }]);
    assert.equal(rel[0]?.t, NOW / 1000 - 6);
    const abs = parseBoth([{ bt: 1.5e9, n: 'x', v: 1, t: -4 }]);
    assert.equal(abs[0]?.t, 1.5e9 - 4);
  });

  it('uses the given clock, not the wall clock', () => {
    const now = 1_700_000_000_000;
    assert.equal(parseBoth([{ n: 'x', v: 1 }], now)[0]?.t, 1_700_000_000);
  });

  it('orders resolved records chronologically (§4.6), ties in pack order', () => {
    const out = parseBoth([
      { bt: 1.5e9, n: 'late', v: 1, t: 10 },
      { n: 'early', v: 1, t: -10 },
      { n: 'tie1', v: 1 },
      { n: 'tie2', v: 1 },
    ]);
    assert.deepEqual(
      out.map((r) => r.n),
      ['early', 'tie1', 'tie2', 'late'],
    );
  });
});

describe('RFC 8428 §4.1 base fields carry forward until replaced', () => {
  it('bn, bu, bv, bs apply to later records; a new bn replaces the old one', () => {
    const out = parseBoth([
      { bn: 'dev1/', bt: 1.5e9, bu: 'W', bv: 100, bs: 1000, n: 'p', v: 1, s: 5 },
      { n: 'p', v: 2, s: 6, t: 1 },
      { n: 'p', u: 'kW', v: 3, t: 2 },
      { bn: 'dev2/', n: 'q', vs: 'x', t: 3 },
      { n: 'q', s: 0, t: 4 },
    ]);
    assert.deepEqual(out, [
      { n: 'dev1/p', u: 'W', v: 101, s: 1005, t: 1.5e9 },
      { n: 'dev1/p', u: 'W', v: 102, s: 1006, t: 1.5e9 + 1 },
      { n: 'dev1/p', u: 'kW', v: 103, t: 1.5e9 + 2 },
      { n: 'dev2/q', u: 'W', vs: 'x', t: 1.5e9 + 3 },
      { n: 'dev2/q', u: 'W', s: 1000, t: 1.5e9 + 4 },
    ]);
  });

  it('bv applies only to "v", never to vs/vb/vd, and does not invent a value', () => {
    const out = parseBoth([
      { bn: 'd/', bv: 10, n: 'a', vb: true },
      { n: 'b', s: 2 },
      { n: 'c', v: -10 },
    ]);
    assert.deepEqual(out, [
      { n: 'd/a', vb: true, t: NOW / 1000 },
      { n: 'd/b', s: 2, t: NOW / 1000 },
      { n: 'd/c', v: 0, t: NOW / 1000 },
    ]);
  });

  it('a record of base fields only sets them for what follows and yields no record', () => {
    const out = parseBoth([
      { bn: 'room1/', bu: 'Cel', bver: 10 },
      { n: 'temp', v: 21 },
      { bn: 'room2/', bt: 1.4e9 },
      { n: 'temp', v: 19, ut: 60 },
    ]);
    assert.deepEqual(out, [
      { n: 'room1/temp', u: 'Cel', v: 21, t: NOW / 1000 },
      { n: 'room2/temp', u: 'Cel', v: 19, t: 1.4e9, ut: 60 },
    ]);
    // A pack of base records only is valid and resolves to nothing.
    assert.deepEqual(parseBoth([{ bn: 'x/' }]), []);
  });

  it('a name may be all base name, and bn + n is what must be well formed', () => {
    assert.deepEqual(
      parseBoth([{ bn: 'urn:dev:mac:0024befffe804ff1', v: 1 }])[0]?.n,
      'urn:dev:mac:0024befffe804ff1',
    );
    assert.deepEqual(parseBoth([{ bn: 'a', n: '-b', v: 1 }])[0]?.n, 'a-b');
  });

  it('ignores unknown fields that do not end in "_" (§4.4)', () => {
    assert.deepEqual(parseBoth([{ n: 'x', v: 1, l: 'link', foo: { nested: [1] } }]), [
      { n: 'x', v: 1, t: NOW / 1000 },
    ]);
  });

  it('accepts a JSON charset parameter and a UTF-8 string value', () => {
    const out = parseSenml(
      'Application/SenML+JSON; charset=utf-8',
      json([{ n: 'x', vs: 'Grüße ✓' }]),
      { now: NOW },
    );
    assert.equal(out[0]?.vs, 'Grüße ✓');
  });
});

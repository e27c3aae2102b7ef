/** LwM2M payload codecs against the examples of OMA-TS-LightweightM2M Core §7.4 (TLV, JSON). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import {
  decodeContent,
  decodeTlv,
  encodeTlv,
  LWM2M_FORMATS,
  parseObjectLinks,
  tlvBytes,
  tlvValue,
} from '../src/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Core §7.4.3.1 example: Read /3/0 of the Device object, the resources without an instance wrapper.
const DEVICE_TLV = hex(`
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06 41 00 01 41 01 05
  88 07 08 42 00 0E D8 42 01 13 88
  87 08 41 00 7D 42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B 41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`);

describe('LwM2M TLV (Core §7.4.3)', () => {
  it('decodes the Device object example into typed values by path', () => {
    const recs = decodeContent(LWM2M_FORMATS.tlv, DEVICE_TLV, [3, 0]);
    const by = Object.fromEntries(recs.map((r) => [r.path, r.value]));
    assert.equal(by['/3/0/0'], 'Open Mobile Alliance');
    assert.equal(by['/3/0/1'], 'Lightweight M2M Client');
    assert.equal(by['/3/0/2'], '345000123');
    assert.equal(by['/3/0/3'], '1.0');
    assert.equal(by['/3/0/6/0'], 1);
    assert.equal(by['/3/0/6/1'], 5);
    assert.equal(by['/3/0/7/0'], 3800);
    assert.equal(by['/3/0/7/1'], 5000);
    assert.equal(by['/3/0/8/1'], 900);
    assert.equal(by['/3/0/9'], 100);
    assert.equal(by['/3/0/11/0'], 0);
    assert.equal(by['/3/0/13'], 1367491215);
    assert.equal(by['/3/0/14'], '+02:00');
    assert.equal(by['/3/0/16'], 'U');
    assert.equal(recs.length, 16);
  });

  it('encodes back to the same bytes (round trip)', () => {
    assert.deepEqual(Buffer.from(encodeTlv(decodeTlv(DEVICE_TLV))), DEVICE_TLV);
  });

  it('decodes an object instance wrapper and 16-bit ids (Core §7.4.3.2 multiple instances)', () => {
    // Read /1: Server object instance 0 with Short Server ID 1 (8-bit) and a resource id 300.
    const tlv = encodeTlv([
      {
        kind: 'instance',
        id: 0,
        children: [
          { kind: 'resource', id: 0, value: Uint8Array.of(1) },
          { kind: 'resource', id: 300, value: Buffer.from('hello') },
        ],
      },
    ]);
    assert.equal(tlv[0], 0x08); // instance, 8-bit id, 8-bit length (body 9 bytes)
    const recs = decodeContent(LWM2M_FORMATS.tlv, tlv, [1]);
    assert.deepEqual(recs, [
      { path: '/1/0/0', value: 1 },
      { path: '/1/0/300', value: 'hello' },
    ]);
  });

  it('integers use the fewest of 1/2/4/8 bytes, signed; floats 8 bytes', () => {
    assert.deepEqual([...tlvBytes(100)], [0x64]);
    assert.deepEqual([...tlvBytes(-1)], [0xff]);
    assert.deepEqual([...tlvBytes(3800)], [0x0e, 0xd8]);
    assert.deepEqual([...tlvBytes(1367491215)], [0x51, 0x82, 0x42, 0x8f]);
    assert.equal(tlvBytes(2 ** 40).length, 8);
    assert.equal(tlvValue(tlvBytes(2 ** 40), 'integer'), 2 ** 40);
    assert.equal(tlvValue(tlvBytes(1.5), 'float'), 1.5);
    assert.equal(tlvValue(tlvBytes(true), 'boolean'), true);
  });

  it('refuses malformed TLV with validation_failed', () => {
    const bad = (b: Buffer) =>
      assert.throws(
        () => decodeTlv(b),
        (e) => e instanceof BulwarkError && e.code === 'validation_failed',
      );
    bad(hex('C8 00 14 4F')); // length runs past the end
    bad(hex('C8')); // truncated header
    bad(hex('02 00 00 00')); // an object instance inside an object instance
    assert.throws(() => tlvValue(hex('02'), 'boolean'));
    assert.throws(() => tlvValue(hex('010203'), 'integer'));
  });
});

describe('LwM2M JSON and SenML JSON (Core §7.4.4, §7.4.5)', () => {
  it('decodes SenML JSON with a base name and a base time', () => {
    const body = JSON.stringify([
      { bn: '/3/0/', bt: 1000, n: '0', vs: 'Open Mobile Alliance' },
      { n: '9', v: 95 },
      { n: '6/0', v: 1, t: 5 },
      { n: '99', vb: true },
    ]);
    assert.deepEqual(decodeContent(LWM2M_FORMATS.senmlJson, Buffer.from(body), [3, 0]), [
      { path: '/3/0/0', value: 'Open Mobile Alliance', time: 1000 },
      { path: '/3/0/9', value: 95, time: 1000 },
      { path: '/3/0/6/0', value: 1, time: 1005 },
      { path: '/3/0/99', value: true, time: 1000 },
    ]);
  });

  it('decodes LwM2M JSON (1.0)', () => {
    const body = JSON.stringify({
      bn: '/3/0/',
      e: [
        { n: '0', sv: 'Open Mobile Alliance' },
        { n: '9', v: 95 },
      ],
    });
    assert.deepEqual(decodeContent(LWM2M_FORMATS.json, Buffer.from(body), [3, 0]), [
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/9', value: 95 },
    ]);
  });

  it('refuses names that are not paths, and unknown formats', () => {
    assert.throws(
      () => decodeContent(110, Buffer.from('[{"n":"/3/x","v":1}]'), [3]),
      /not an LwM2M path/,
    );
    assert.throws(() => decodeContent(110, Buffer.from('{'), [3]), /not JSON/);
    assert.throws(
      () => decodeContent(11544, Buffer.from([0x80]), [3]), // LwM2M CBOR: not decoded
      (e) => e instanceof BulwarkError && e.code === 'unsupported_media_type',
    );
  });
});

describe('registration object links (Core §6.2.1.1)', () => {
  it("parses Wakaama's object list", () => {
    const links = parseObjectLinks(
      '</1>;ver=1.1,</1/0>,</2/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</31024>;ver=1.0,</31024/10>',
    );
    assert.equal(links.length, 10);
    assert.deepEqual(links[0], { path: '/1', version: '1.1' });
    assert.deepEqual(links[3], { path: '/3/0' });
  });
  it('skips a root "/" with rt="oma.lwm2m" and refuses other roots or resource paths', () => {
    assert.deepEqual(parseObjectLinks('</>;rt="oma.lwm2m",</3/0>'), [{ path: '/3/0' }]);
    assert.throws(() => parseObjectLinks('</lwm2m>;rt="oma.lwm2m",</3/0>'), /alternate root/);
    assert.throws(() => parseObjectLinks('</3/0/1>'), /neither an object/);
    assert.throws(() => parseObjectLinks('garbage'), /not a link/);
  });
});

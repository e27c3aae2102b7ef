/**
 * Every packet type carries only the reason codes MQTT 5 allows for it (§3.2.2.2 CONNACK,
 * §3.4.2.1 PUBACK, §3.5.2.1 PUBREC, §3.6.2.1 PUBREL, §3.7.2.1 PUBCOMP, §3.9.3 SUBACK, §3.11.3
 * UNSUBACK, §3.14.2.1 DISCONNECT): one mapping per packet type, applied by the encoders.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { BulwarkError } from '@bulwark/protocol';
import { mqttReasonCode } from '../../src/messaging/reason-codes.js';
import {
  encodeAck,
  encodeConnack,
  encodeDisconnect,
  encodeSuback,
  encodeUnsuback,
} from '../../src/mqtt/codec/packets.js';
import { ALLOWED_REASONS, reasonFor, reasonName, type ReasonPacket } from '../../src/mqtt/index.js';

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** The lists of MQTT 5, written out once more from the specification's tables. */
const SPEC: Record<ReasonPacket, number[]> = {
  connack: [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
  ],
  puback: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrec: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0x00, 0x92],
  pubcomp: [0x00, 0x92],
  suback: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
};

describe('reason codes per packet type (one mapping each)', () => {
  for (const packet of Object.keys(SPEC) as ReasonPacket[]) {
    it(`${packet}: the allowed list is the specification's, and every code 0x00–0xFF maps into it`, () => {
      assert.deepEqual(
        [...ALLOWED_REASONS[packet]].sort((a, b) => a - b),
        SPEC[packet],
      );
      for (let code = 0; code <= 0xff; code++) {
        const out = reasonFor(packet, code);
        assert.ok(SPEC[packet].includes(out), `${packet} ${hex(code)} → ${hex(out)} not allowed`);
        if (SPEC[packet].includes(code)) assert.equal(out, code, `${packet} keeps ${hex(code)}`);
        // A failure stays a failure (PUBREL/PUBCOMP have only 0x92 for one).
        if (code >= 0x80) assert.ok(out >= 0x80, `${packet} ${hex(code)} → ${hex(out)}`);
      }
    });
  }

  // The substitutions that carry a meaning (decision record 0014).
  const table: Array<[ReasonPacket, number, number, string]> = [
    ['puback', 0x95, 0x83, 'Packet too large → Implementation specific error'],
    ['puback', 0x96, 0x97, 'Message rate too high → Quota exceeded'],
    ['puback', 0x88, 0x80, 'Server unavailable → Unspecified error'],
    ['puback', 0x89, 0x80, 'Server busy → Unspecified error'],
    ['puback', 0x86, 0x87, 'Bad User Name or Password → Not authorized'],
    ['puback', 0x8a, 0x87, 'Banned → Not authorized'],
    ['puback', 0x98, 0x87, 'Administrative action → Not authorized'],
    ['puback', 0x8f, 0x90, 'Topic Filter invalid → Topic Name invalid'],
    ['pubrec', 0x95, 0x83, 'the same list as PUBACK'],
    ['suback', 0x90, 0x8f, 'Topic Name invalid → Topic Filter invalid'],
    ['suback', 0x96, 0x97, 'Message rate too high → Quota exceeded'],
    ['suback', 0x8a, 0x87, 'Banned → Not authorized'],
    ['unsuback', 0x97, 0x83, 'Quota exceeded → Implementation specific error'],
    ['connack', 0x8b, 0x88, 'Server shutting down → Server unavailable'],
    ['connack', 0x98, 0x87, 'Administrative action → Not authorized'],
    ['connack', 0x96, 0x97, 'Message rate too high → Quota exceeded'],
    ['disconnect', 0x88, 0x89, 'Server unavailable → Server busy'],
    ['disconnect', 0x86, 0x87, 'Bad User Name or Password → Not authorized'],
    ['disconnect', 0x8a, 0x87, 'Banned → Not authorized'],
    ['disconnect', 0x04, 0x80, 'Disconnect with Will Message is the client’s only'],
    ['pubrel', 0x80, 0x92, 'a failure can only be Packet Identifier not found'],
  ];
  for (const [packet, from, to, why] of table) {
    it(`${packet}: ${hex(from)} → ${hex(to)} (${why})`, () => {
      assert.equal(reasonFor(packet, from), to);
    });
  }

  it('reasonName gives the MQTT 5 name (the Reason String of a substituted code)', () => {
    assert.equal(reasonName(0x95), 'Packet too large');
    assert.equal(reasonName(0x96), 'Message rate too high');
    assert.equal(reasonName(0x42), 'reason 0x42');
  });
});

describe('the encoders cannot send a disallowed code', () => {
  const parse = (buf: Buffer): Packet => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const got: Packet[] = [];
    const errors: Error[] = [];
    parser.on('packet', (p: Packet) => got.push(p));
    parser.on('error', (e: Error) => errors.push(e));
    parser.parse(buf);
    // mqtt-packet (MQTT.js) refuses a code outside the packet's list: none may reach it.
    assert.deepEqual(errors, []);
    assert.equal(got.length, 1);
    return got[0]!;
  };

  it('PUBACK/PUBREC 0x95, 0x96, 0x88 parse in MQTT.js as 0x83, 0x97, 0x80', () => {
    for (const [from, to] of [
      [0x95, 0x83],
      [0x96, 0x97],
      [0x88, 0x80],
    ] as const) {
      for (const header of [0x40, 0x50] as const) {
        const p = parse(encodeAck(header, 7, from, true, 'why')) as { reasonCode?: number };
        assert.equal(p.reasonCode, to, `${hex(header)} ${hex(from)}`);
      }
    }
  });

  it('SUBACK, UNSUBACK, DISCONNECT and CONNACK map as well; v3.1.1 SUBACK knows only 0–2 and 0x80', () => {
    const suback = parse(encodeSuback(1, [0, 1, 2, 0x87, 0x90, 0x96, 0x8a], true)) as {
      granted: number[];
    };
    assert.deepEqual(suback.granted, [0, 1, 2, 0x87, 0x8f, 0x97, 0x87]);
    const unsuback = parse(encodeUnsuback(2, [0, 0x11, 0x97], true)) as { granted: number[] };
    assert.deepEqual(unsuback.granted, [0, 0x11, 0x83]);
    const d = parse(encodeDisconnect(0x88)) as { reasonCode?: number };
    assert.equal(d.reasonCode, 0x89);
    const c = parse(encodeConnack(false, 0x8b, true)) as { reasonCode?: number };
    assert.equal(c.reasonCode, 0x88);
    const v3 = encodeSuback(3, [0, 1, 2, 0x87, 7], false);
    assert.deepEqual([...v3.subarray(4)], [0, 1, 2, 0x80, 0x80]);
  });
});

describe("the hub's one Bulwark error → reason code mapping (mqttReasonCode)", () => {
  const cases: Array<[BulwarkError, Partial<Record<ReasonPacket, number>>]> = [
    [
      new BulwarkError('payload_too_large', 'the payload has 2000 bytes; the limit is 1024'),
      { puback: 0x83, connack: 0x95, disconnect: 0x95 },
    ],
    [new BulwarkError('quota_exceeded'), { puback: 0x97, suback: 0x97, disconnect: 0x97 }],
    [new BulwarkError('credential_locked'), { puback: 0x97, disconnect: 0x96, connack: 0x97 }],
    [new BulwarkError('not_authorized'), { puback: 0x87, suback: 0x87, connack: 0x87 }],
    [new BulwarkError('api_key_revoked'), { puback: 0x87, disconnect: 0x87 }],
    [new BulwarkError('senml_invalid'), { puback: 0x99, suback: 0x80 }],
    [new BulwarkError('unavailable'), { puback: 0x80, connack: 0x88, disconnect: 0x89 }],
  ];
  for (const [err, want] of cases) {
    it(`${err.code}: ${JSON.stringify(Object.fromEntries(Object.entries(want).map(([k, v]) => [k, hex(v)])))}`, () => {
      for (const [packet, code] of Object.entries(want) as Array<[ReasonPacket, number]>) {
        assert.equal(mqttReasonCode(err, packet), code, packet);
      }
    });
  }

  it('defaults to PUBACK (a refused message) and maps a foreign error to 0x80', () => {
    assert.equal(mqttReasonCode(new BulwarkError('payload_too_large')), 0x83);
    assert.equal(mqttReasonCode(new Error('boom')), 0x80);
  });
});

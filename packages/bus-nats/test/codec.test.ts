import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, type Envelope } from '@bulwark/core';
import {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_HEADER,
  MSG_ID_HEADER,
  subjectOf,
} from '@bulwark/bus-nats';
import { headers } from '@nats-io/transport-node';

const PREFIX = 'bulwark.msg';

function envelope(fields: Partial<Envelope> = {}): Envelope {
  return {
    id: newId(),
    orgId: newId(),
    channelId: newId(),
    subtopic: 'floor/1',
    publisher: { type: 'api_key', id: newId() },
    protocol: 'http',
    contentType: 'application/senml+json',
    receivedAt: 1_700_000_000_123,
    payload: Uint8Array.from({ length: 256 }, (_, i) => i),
    senml: [{ n: 'temp', u: 'Cel', v: 21.5, t: 1_700_000_000.5 }],
    origin: 'node-1',
    ...fields,
  };
}

describe('envelope codec', () => {
  it('round-trips every field, with the payload as raw message data', () => {
    const e = envelope();
    const m = encodeEnvelope(PREFIX, e);
    assert.equal(m.subject, `${PREFIX}.${e.orgId}.${e.channelId}`);
    assert.equal(m.data, e.payload, 'payload bytes are sent as they are');
    assert.equal(m.headers.get(MSG_ID_HEADER), e.id);
    assert.deepEqual(decodeEnvelope(PREFIX, m.subject, m.headers, m.data), e);
  });

  it('keeps an absent senml absent and an empty one empty', () => {
    const { senml: _, ...bare } = envelope();
    const m = encodeEnvelope(PREFIX, bare);
    const back = decodeEnvelope(PREFIX, m.subject, m.headers, m.data);
    assert.equal('senml' in back, false);
    const empty = envelope({ senml: [] });
    const m2 = encodeEnvelope(PREFIX, empty);
    assert.deepEqual(decodeEnvelope(PREFIX, m2.subject, m2.headers, m2.data).senml, []);
  });

  it('keeps headers printable ASCII, so no field can forge a header', () => {
    const e = envelope({ origin: 'nœud 🚀\r\nNats-Msg-Id: forged', subtopic: 'é/\n' });
    const m = encodeEnvelope(PREFIX, e);
    const raw = m.headers.get(ENVELOPE_HEADER);
    assert.match(raw, /^[\x20-\x7e]+$/);
    // What the wire carries, decoded as a receiver would.
    const wire = headers();
    for (const [k, vs] of m.headers) for (const v of vs) wire.append(k, v);
    assert.deepEqual(decodeEnvelope(PREFIX, m.subject, wire, m.data), e);
    assert.deepEqual(wire.values(MSG_ID_HEADER), [e.id]);
  });

  it('refuses ids that are not plain subject tokens', () => {
    assert.throws(() => subjectOf(PREFIX, 'a.b', 'c'), /subject tokens/);
    assert.throws(() => subjectOf(PREFIX, 'a', '>'), /subject tokens/);
    assert.throws(() => subjectOf(PREFIX, 'a', ''), /subject tokens/);
  });

  it('refuses malformed messages with a clear error', () => {
    const e = envelope();
    const m = encodeEnvelope(PREFIX, e);
    assert.throws(() => decodeEnvelope(PREFIX, 'other.x.y', m.headers, m.data), /not under/);
    assert.throws(() => decodeEnvelope(PREFIX, `${PREFIX}.x`, m.headers, m.data), /<orgId>/);
    assert.throws(() => decodeEnvelope(PREFIX, m.subject, undefined, m.data), /lacks/);
    const bad = (json: string): void => {
      const h = headers();
      h.set(MSG_ID_HEADER, e.id);
      h.set(ENVELOPE_HEADER, json);
      decodeEnvelope(PREFIX, m.subject, h, m.data);
    };
    assert.throws(() => bad('{'), /not JSON/);
    assert.throws(() => bad('{"v":2}'), /codec version 2/);
    assert.throws(() => bad(m.headers.get(ENVELOPE_HEADER).replace('"http"', '"smtp"')), /field/);
    assert.throws(
      () => bad(m.headers.get(ENVELOPE_HEADER).replace(/"sm":\[.*\]/, '"sm":[1]')),
      /SenML/,
    );
  });
});

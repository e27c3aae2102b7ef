// MQTT 5 packets and the SenML payload of `npm run bench:ingest` (pre-encoded, no library, so the
// load generator is not the bottleneck). v5 because the real path needs the Content Type property:
// without it (MQTT 3.1.1) the hub stores a payload as opaque bytes instead of SenML records.
import { varint } from './mqtt-codec.mjs';

export { splitter } from './mqtt-codec.mjs';

/** The content type every benchmark message carries (SenML JSON, RFC 8428). */
export const SENML = 'application/senml+json';

const str = (s) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (first, body) => Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);

/** CONNECT, v5, clean start, no properties. */
export function connect5(clientId, keepAlive = 0) {
  const head = Buffer.from([5, 0x02, keepAlive >> 8, keepAlive & 0xff, 0]);
  return packet(0x10, Buffer.concat([str('MQTT'), head, str(clientId)]));
}

/** SUBSCRIBE, v5, packet id 1, one filter at `qos`. */
export function subscribe5(filter, qos) {
  return packet(0x82, Buffer.concat([Buffer.from([0, 1, 0]), str(filter), Buffer.from([qos])]));
}

/** PUBACK, v5 short form (success, no properties [MQTT-3.4.2.1]). */
export const puback = (id) => Buffer.from([0x40, 2, id >> 8, id & 0xff]);

/**
 * A CONNACK's reason code and the server's Receive Maximum (property 0x21; 65,535 when absent
 * [MQTT-3.2.2.3.3]), or null when `buf` does not start with a whole CONNACK.
 */
export function parseConnack(buf) {
  if (buf.length < 4 || buf[0] !== 0x20) return null;
  const out = { reason: buf[3], receiveMaximum: 65535 };
  // Properties: a variable byte integer length, then identifier/value pairs. Only 0x21 matters.
  let p = 4;
  let len = 0;
  for (let mul = 1; p < buf.length; mul *= 128) {
    const b = buf[p++];
    len += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
  }
  const end = Math.min(buf.length, p + len);
  while (p < end) {
    const id = buf[p++];
    if (id === 0x21) out.receiveMaximum = buf.readUInt16BE(p);
    // Skip the value by the property's type (MQTT 5 table 2-4); unknown ends the scan.
    if ([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a].includes(id)) p += 1;
    else if ([0x13, 0x21, 0x22].includes(id)) p += 2;
    else if ([0x11, 0x27].includes(id)) p += 4;
    else if ([0x12, 0x15, 0x1a, 0x1c, 0x1f].includes(id)) p += 2 + buf.readUInt16BE(p);
    else if (id === 0x26) {
      p += 2 + buf.readUInt16BE(p);
      p += 2 + buf.readUInt16BE(p);
    } else break;
  }
  return out;
}

const pad = (n, w) =>
  String(Math.max(0, Math.round(n)))
    .padStart(w, '0')
    .slice(-w);

// The payload: RECORDS SenML records (default 2: a gateway or a batching device sends more in one
// pack), the last carrying the message's identity and timing as a fixed layout string so the
// subscriber and the storage check read it without JSON.parse:
//   pub(5).seq(8).intended(10).written(10), times in µs since the cell's epoch.
/** SenML records in every benchmark payload (env RECORDS, at least 2). */
export const RECORDS = Math.max(2, Number(process.env.RECORDS ?? 2));
// Each device its own base name, as real devices have (urn:dev:bench:00042:temp): the store keeps
// one series per device and name.
const VALUES = ['{"n":"temp","u":"Cel","v":21.5}'];
for (let i = 1; i < RECORDS - 1; i++) VALUES.push(`{"n":"v${i}","u":"%RH","v":${40 + i}.25}`);
const head = (pub) =>
  `[{"bn":"urn:dev:bench:${pad(pub, 5)}:",${VALUES.join(',').slice(1)},{"n":"id","vs":"`;
const heads = [];
const headOf = (pub) => (heads[pub] ??= head(pub));
const TAIL = '"}]';
const ID_LEN = 5 + 1 + 8 + 1 + 10 + 1 + 10;
/** Bytes of every benchmark payload. */
export const PAYLOAD_BYTES = head(0).length + ID_LEN + TAIL.length;

/**
 * A v5 PUBLISH on `topic` with content type SenML JSON and the payload above; `intended` and
 * `written` are µs since the epoch (the time the open-loop schedule meant to send it, and now).
 */
export function publish5(topic, qos, packetId, pub, seq, intended, written) {
  const t = str(topic);
  const ct = str(SENML);
  const props = Buffer.concat([Buffer.from([ct.length + 1, 0x03]), ct]);
  const id = qos > 0 ? Buffer.from([packetId >> 8, packetId & 0xff]) : Buffer.alloc(0);
  const payload = Buffer.from(
    `${headOf(pub)}${pad(pub, 5)}.${pad(seq, 8)}.${pad(intended, 10)}.${pad(written, 10)}${TAIL}`,
  );
  return packet(0x30 | (qos << 1), Buffer.concat([t, id, props, payload]));
}

const MARK = Buffer.from('"vs":"');

/** { pub, seq, intended, written } from a benchmark payload (a Buffer), or null. */
export function readPayload(buf, start = 0, end = buf.length) {
  const at = buf.indexOf(MARK, start);
  if (at < 0 || at + MARK.length + ID_LEN > end) return null;
  const s = buf.toString('latin1', at + MARK.length, at + MARK.length + ID_LEN);
  return {
    pub: Number(s.slice(0, 5)),
    seq: Number(s.slice(6, 14)),
    intended: Number(s.slice(15, 25)),
    written: Number(s.slice(26, 36)),
  };
}

/**
 * Reads an incoming v5 PUBLISH (header byte `h`, body from `start` to `end`): its QoS, packet id
 * and the payload's bounds.
 */
export function readPublish5(h, buf, start, end) {
  const qos = (h >> 1) & 3;
  let p = start + 2 + buf.readUInt16BE(start);
  let id = 0;
  if (qos > 0) {
    id = buf.readUInt16BE(p);
    p += 2;
  }
  let len = 0;
  for (let mul = 1; ; mul *= 128) {
    const b = buf[p++];
    len += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
  }
  return { qos, id, payloadStart: p + len, end };
}

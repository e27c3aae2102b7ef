/**
 * The PUBLISH fast path: a hand-written decoder and encoder for the one packet type that carries
 * the load (everything else goes through mqtt-packet). See docs/decisions/0003-mqtt-engine.md for
 * the measurements behind it.
 */
import { isUtf8 } from 'node:buffer';
import type { Message, MessageProperties } from '../message.js';
import { RC } from '../reason-codes.js';
import { decodeMqttString } from '../topics.js';
import { propertyValueFits } from './properties.js';
import { readVarint, varintLength, writeVarint } from './wire.js';

/** Every property identifier MQTT 5 defines (§2.2.2.2). */
const KNOWN_PROPERTIES = new Set([
  0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c,
  0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
]);

/** An inbound PUBLISH after decoding (topic still unvalidated against limits). */
export interface DecodedPublish {
  /** The topic name; '' when the v5 packet relies on a Topic Alias. */
  topic: string;
  topicBytes: number;
  qos: 0 | 1 | 2;
  dup: boolean;
  retain: boolean;
  packetId: number;
  payload: Buffer;
  props: MessageProperties | null;
  expiry: number;
  topicAlias: number;
  /** v5 Payload Format Indicator 1 with a payload that is not UTF-8 ([MQTT-3.3.2-4] lets us refuse). */
  formatInvalid: boolean;
}

/**
 * Decode the PUBLISH in `buf[start, end)` (the body after the fixed header). Returns a reason code
 * (0x81 malformed, 0x82 protocol error, 0x94 topic alias invalid) when the packet is bad.
 */
export function decodePublish(
  flags: number,
  buf: Buffer,
  start: number,
  end: number,
  v5: boolean,
): DecodedPublish | number {
  const qos = (flags >> 1) & 3;
  const dup = (flags & 8) !== 0;
  // [MQTT-3.3.1-4] A PUBLISH packet MUST NOT have both QoS bits set to 1.
  if (qos === 3) return RC.MALFORMED;
  // [MQTT-3.3.1-2] The DUP flag MUST be set to 0 for all QoS 0 messages.
  if (qos === 0 && dup) return RC.MALFORMED;
  let p = start;
  if (end - p < 2) return RC.MALFORMED;
  const tlen = buf.readUInt16BE(p);
  p += 2;
  if (p + tlen > end) return RC.MALFORMED;
  // [MQTT-3.3.2-1] The Topic Name MUST be a UTF-8 Encoded String.
  const topic = decodeMqttString(buf, p, p + tlen);
  if (topic === null) return RC.MALFORMED;
  p += tlen;
  let packetId = 0;
  if (qos > 0) {
    if (end - p < 2) return RC.MALFORMED;
    packetId = buf.readUInt16BE(p);
    p += 2;
    // [MQTT-2.2.1-3] / [MQTT-2.3.1-1] QoS > 0 packets need a non-zero Packet Identifier.
    if (packetId === 0) return RC.PROTOCOL_ERROR;
  }
  let props: MessageProperties | null = null;
  let expiry = 0;
  let topicAlias = 0;
  let pfi = 0;
  if (v5) {
    const vl = readVarint(buf, p, end);
    if (typeof vl === 'number') return RC.MALFORMED;
    const [plen, after] = vl;
    p = after;
    const pend = p + plen;
    if (pend > end) return RC.MALFORMED;
    let seen = 0;
    while (p < pend) {
      const id = buf[p++]!;
      let bit = 0;
      switch (id) {
        case 0x01: // Payload Format Indicator
          if (p + 1 > pend) return RC.MALFORMED;
          pfi = buf[p++]!;
          if (pfi > 1) return RC.PROTOCOL_ERROR;
          (props ??= {}).payloadFormatIndicator = pfi;
          bit = 1;
          break;
        case 0x02: // Message Expiry Interval
          if (p + 4 > pend) return RC.MALFORMED;
          expiry = buf.readUInt32BE(p);
          p += 4;
          bit = 2;
          break;
        case 0x23: // Topic Alias
          if (p + 2 > pend) return RC.MALFORMED;
          topicAlias = buf.readUInt16BE(p);
          p += 2;
          // [MQTT-3.3.2-8] A Topic Alias of 0 is not permitted.
          if (topicAlias === 0) return RC.TOPIC_ALIAS_INVALID;
          bit = 4;
          break;
        case 0x08: // Response Topic
        case 0x03: {
          // Content Type
          if (p + 2 > pend) return RC.MALFORMED;
          const l = buf.readUInt16BE(p);
          p += 2;
          if (p + l > pend) return RC.MALFORMED;
          const s = decodeMqttString(buf, p, p + l);
          if (s === null) return RC.MALFORMED;
          p += l;
          if (id === 0x08) {
            // [MQTT-3.3.2-14] The Response Topic MUST NOT contain wildcard characters.
            if (s.length === 0 || s.includes('+') || s.includes('#')) return RC.PROTOCOL_ERROR;
            (props ??= {}).responseTopic = s;
            bit = 8;
          } else {
            (props ??= {}).contentType = s;
            bit = 16;
          }
          break;
        }
        case 0x09: {
          // Correlation Data
          if (p + 2 > pend) return RC.MALFORMED;
          const l = buf.readUInt16BE(p);
          p += 2;
          if (p + l > pend) return RC.MALFORMED;
          (props ??= {}).correlationData = Buffer.from(buf.subarray(p, p + l));
          p += l;
          bit = 32;
          break;
        }
        case 0x26: {
          // User Property (may repeat)
          if (p + 2 > pend) return RC.MALFORMED;
          const kl = buf.readUInt16BE(p);
          p += 2;
          if (p + kl + 2 > pend) return RC.MALFORMED;
          const k = decodeMqttString(buf, p, p + kl);
          p += kl;
          const vlen = buf.readUInt16BE(p);
          p += 2;
          if (p + vlen > pend) return RC.MALFORMED;
          const v = decodeMqttString(buf, p, p + vlen);
          p += vlen;
          if (k === null || v === null) return RC.MALFORMED;
          ((props ??= {}).userProperties ??= []).push([k, v]);
          break;
        }
        case 0x0b: {
          // [MQTT-3.3.4-6] A PUBLISH from a client MUST NOT contain a Subscription Identifier
          // (a protocol error once its value is readable; malformed before that).
          const v = readVarint(buf, p, pend);
          if (typeof v === 'number' || v[1] - p > varintLength(v[0])) return RC.MALFORMED;
          return RC.PROTOCOL_ERROR;
        }
        default:
          // A known property of another packet type is a protocol error, an unknown one is
          // malformed (MQTT 5 §2.2.2.2; the split Mosquitto uses).
          return KNOWN_PROPERTIES.has(id) && propertyValueFits(id, buf, p, pend)
            ? RC.PROTOCOL_ERROR
            : RC.MALFORMED;
      }
      // It is a Protocol Error to include these properties more than once (§3.3.2.3).
      if (bit !== 0) {
        if (seen & bit) return RC.PROTOCOL_ERROR;
        seen |= bit;
      }
    }
    if (p !== pend) return RC.MALFORMED;
  }
  // Copy the payload: the socket chunk it sits in must not be kept alive by a queued message.
  const payload = Buffer.from(buf.subarray(p, end));
  return {
    topic,
    topicBytes: tlen,
    qos: qos as 0 | 1 | 2,
    dup,
    retain: (flags & 1) !== 0,
    packetId,
    payload,
    props,
    expiry,
    topicAlias,
    formatInvalid: pfi === 1 && !isUtf8(payload),
  };
}

/** Encode the forwarded v5 properties of a message once (without the length prefix). */
export function encodeMessageProps(props: MessageProperties | null): Buffer | null {
  if (props === null) return null;
  const parts: Buffer[] = [];
  const str = (id: number, s: string | Buffer): void => {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    const h = Buffer.allocUnsafe(3);
    h[0] = id;
    h.writeUInt16BE(b.length, 1);
    parts.push(h, b);
  };
  if (props.payloadFormatIndicator !== undefined) {
    parts.push(Buffer.from([0x01, props.payloadFormatIndicator]));
  }
  if (props.contentType !== undefined) str(0x03, props.contentType);
  if (props.responseTopic !== undefined) str(0x08, props.responseTopic);
  if (props.correlationData !== undefined) str(0x09, props.correlationData);
  for (const [k, v] of props.userProperties ?? []) {
    parts.push(Buffer.from([0x26]));
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    const h = Buffer.allocUnsafe(2);
    h.writeUInt16BE(kb.length);
    const h2 = Buffer.allocUnsafe(2);
    h2.writeUInt16BE(vb.length);
    parts.push(h, kb, h2, vb);
  }
  return parts.length === 0 ? null : Buffer.concat(parts);
}

/**
 * Encode an outbound PUBLISH. For v5, `subIds` are the Subscription Identifiers to attach
 * ([MQTT-3.3.4-3]) and the Message Expiry Interval is rewritten to the time remaining ([MQTT-3.3.2-6]).
 */
export function encodePublish(
  msg: Message,
  v5: boolean,
  qos: number,
  packetId: number,
  dup: boolean,
  retain: boolean,
  subIds: readonly number[] | null,
): Buffer {
  const topicLen = msg.topicBuf.length;
  let propLen = 0;
  let expiryLeft = 0;
  if (v5) {
    if (msg.props !== null && msg.propsBody === null) msg.propsBody = encodeMessageProps(msg.props);
    if (msg.propsBody !== null) propLen += msg.propsBody.length;
    if (msg.expiresAt > 0) {
      expiryLeft = Math.max(1, Math.ceil((msg.expiresAt - Date.now()) / 1000));
      propLen += 5;
    }
    if (subIds !== null) for (const id of subIds) propLen += 1 + varintLength(id);
  }
  const rem =
    2 +
    topicLen +
    (qos > 0 ? 2 : 0) +
    (v5 ? varintLength(propLen) + propLen : 0) +
    msg.payload.length;
  const out = Buffer.allocUnsafe(1 + varintLength(rem) + rem);
  out[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let p = writeVarint(out, 1, rem);
  out[p++] = topicLen >> 8;
  out[p++] = topicLen & 0xff;
  p += msg.topicBuf.copy(out, p);
  if (qos > 0) {
    out[p++] = packetId >> 8;
    out[p++] = packetId & 0xff;
  }
  if (v5) {
    p = writeVarint(out, p, propLen);
    if (msg.propsBody !== null) p += msg.propsBody.copy(out, p);
    if (msg.expiresAt > 0) {
      out[p++] = 0x02;
      out.writeUInt32BE(expiryLeft, p);
      p += 4;
    }
    if (subIds !== null) {
      for (const id of subIds) {
        out[p++] = 0x0b;
        p = writeVarint(out, p, id);
      }
    }
  }
  msg.payload.copy(out, p);
  return out;
}

/** The QoS 0 encoding of a message for a protocol version, cached on the message for fan-out. */
export function encodeQos0Cached(msg: Message, v5: boolean, retain: boolean): Buffer {
  if (msg.expiresAt > 0) return encodePublish(msg, v5, 0, 0, false, retain, null);
  const slot = (v5 ? 2 : 0) + (retain ? 1 : 0);
  const enc = (msg.enc ??= [undefined, undefined, undefined, undefined]);
  return (enc[slot] ??= encodePublish(msg, v5, 0, 0, false, retain, null));
}

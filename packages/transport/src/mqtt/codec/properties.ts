/**
 * A raw walker for MQTT 5 property blocks (MQTT 5 §2.2.2): it runs before mqtt-packet sees a
 * packet, so that unknown, misplaced and repeated properties (Protocol Error, 0x82) and truncated
 * ones (Malformed Packet, 0x81) are told apart the way the specification (and Mosquitto) do.
 */
import { RC } from '../reason-codes.js';
import { decodeMqttString } from '../topics.js';
import { readVarint } from './wire.js';

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'str' | 'bin' | 'pair';

/** Where each property may appear (client → server packets and will properties). */
const TABLE: Record<number, [Kind, string[]]> = {
  0x01: ['byte', ['publish', 'will']],
  0x02: ['u32', ['publish', 'will']],
  0x03: ['str', ['publish', 'will']],
  0x08: ['str', ['publish', 'will']],
  0x09: ['bin', ['publish', 'will']],
  0x0b: ['varint', ['subscribe']],
  0x11: ['u32', ['connect', 'disconnect']],
  0x15: ['str', ['connect', 'auth']],
  0x16: ['bin', ['connect', 'auth']],
  0x17: ['byte', ['connect']],
  0x18: ['u32', ['will']],
  0x19: ['byte', ['connect']],
  0x1c: ['str', ['disconnect']],
  0x1f: ['str', ['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect', 'auth']],
  0x21: ['u16', ['connect']],
  0x22: ['u16', ['connect']],
  0x23: ['u16', ['publish']],
  0x26: [
    'pair',
    [
      'connect',
      'will',
      'publish',
      'puback',
      'pubrec',
      'pubrel',
      'pubcomp',
      'subscribe',
      'unsubscribe',
      'disconnect',
      'auth',
    ],
  ],
  0x27: ['u32', ['connect']],
  // Server → client only: known (so their values are read), never allowed from a client.
  0x12: ['str', []],
  0x13: ['u16', []],
  0x1a: ['str', []],
  0x24: ['byte', []],
  0x25: ['byte', []],
  0x28: ['byte', []],
  0x29: ['byte', []],
  0x2a: ['byte', []],
};

/** Thrown for a bad property block. */
export class PropertyError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Validate the property block at `off` (its Variable Byte Integer length first) for a packet kind.
 * Returns the offset after the block.
 */
export function walkProperties(buf: Buffer, off: number, end: number, kind: string): number {
  const vl = readVarint(buf, off, end);
  if (typeof vl === 'number') throw new PropertyError(RC.MALFORMED, 'property length');
  const [len, start] = vl;
  const stop = start + len;
  if (stop > end) throw new PropertyError(RC.MALFORMED, 'property length beyond packet');
  const seen = new Set<number>();
  let p = start;
  const need = (n: number): void => {
    if (p + n > stop) throw new PropertyError(RC.MALFORMED, 'truncated property');
  };
  const str = (): void => {
    need(2);
    const l = buf.readUInt16BE(p);
    p += 2;
    need(l);
    if (decodeMqttString(buf, p, p + l) === null) {
      throw new PropertyError(RC.MALFORMED, 'bad UTF-8 in property');
    }
    p += l;
  };
  while (p < stop) {
    const id = buf[p++]!;
    const entry = TABLE[id];
    if (entry === undefined) {
      throw new PropertyError(RC.MALFORMED, `unknown property 0x${id.toString(16)}`);
    }
    // The value is read first (truncated → malformed), then its placement is checked.
    const at = p;
    switch (entry[0]) {
      case 'byte': {
        need(1);
        p += 1;
        break;
      }
      case 'u16': {
        need(2);
        // [MQTT-3.1.2-…] Receive Maximum 0 is a protocol error.
        if (id === 0x21 && buf.readUInt16BE(p) === 0) {
          throw new PropertyError(RC.PROTOCOL_ERROR, 'Receive Maximum 0');
        }
        p += 2;
        break;
      }
      case 'u32': {
        need(4);
        if (id === 0x27 && buf.readUInt32BE(p) === 0) {
          throw new PropertyError(RC.PROTOCOL_ERROR, 'Maximum Packet Size 0');
        }
        p += 4;
        break;
      }
      case 'varint': {
        const v = readVarint(buf, p, stop);
        if (typeof v === 'number') throw new PropertyError(RC.MALFORMED, 'bad varint property');
        // [MQTT-1.5.5-1] A non-minimal encoding (e.g. 80 00) is malformed; 0 is a protocol error.
        if (v[1] - p > 1 && buf[v[1] - 1] === 0) throw new PropertyError(RC.MALFORMED, 'varint');
        if (v[0] === 0) throw new PropertyError(RC.PROTOCOL_ERROR, 'Subscription Identifier 0');
        p = v[1];
        break;
      }
      case 'str':
        str();
        break;
      case 'bin': {
        need(2);
        const l = buf.readUInt16BE(p);
        p += 2;
        need(l);
        p += l;
        break;
      }
      case 'pair':
        str();
        str();
        break;
    }
    if (!entry[1].includes(kind)) {
      // A property of the wrong packet type (Mosquitto: malformed in SUBSCRIBE/UNSUBSCRIBE).
      const code =
        kind === 'subscribe' || kind === 'unsubscribe' ? RC.MALFORMED : RC.PROTOCOL_ERROR;
      throw new PropertyError(code, `property 0x${id.toString(16)} not allowed in ${kind}`);
    }
    if (id !== 0x26) {
      if (seen.has(id))
        throw new PropertyError(RC.PROTOCOL_ERROR, `property 0x${id.toString(16)} repeated`);
      seen.add(id);
    }
    // [MQTT-3.1.3-…] A Response Topic must be a valid topic name: non-empty, no wildcards.
    if (id === 0x08) {
      const l = buf.readUInt16BE(at);
      const t = buf.toString('utf8', at + 2, at + 2 + l);
      if (l === 0 || t.includes('+') || t.includes('#')) {
        throw new PropertyError(RC.PROTOCOL_ERROR, 'bad Response Topic');
      }
    }
    // Payload Format Indicator, Request Problem/Response Information are 0 or 1.
    if (entry[0] === 'byte' && buf[at]! > 1) {
      throw new PropertyError(RC.PROTOCOL_ERROR, 'byte property not 0/1');
    }
  }
  return stop;
}

/** For a known property id at `p`: does its value fit before `end`? (Truncated → malformed.) */
export function propertyValueFits(id: number, buf: Buffer, p: number, end: number): boolean {
  const entry = TABLE[id];
  if (entry === undefined) return false;
  const fixed = { byte: 1, u16: 2, u32: 4 } as Record<string, number>;
  const size = fixed[entry[0]];
  if (size !== undefined) return p + size <= end;
  if (entry[0] === 'varint') return typeof readVarint(buf, p, end) !== 'number';
  if (p + 2 > end) return false;
  const l = buf.readUInt16BE(p);
  if (entry[0] !== 'pair') return p + 2 + l <= end;
  const q = p + 2 + l;
  return q + 2 <= end && q + 2 + buf.readUInt16BE(q) <= end;
}

/** Skip an MQTT string/binary at `p`; returns the offset after it or throws malformed. */
function skip(buf: Buffer, p: number, end: number): number {
  if (p + 2 > end) throw new PropertyError(RC.MALFORMED, 'truncated field');
  const l = buf.readUInt16BE(p);
  if (p + 2 + l > end) throw new PropertyError(RC.MALFORMED, 'truncated field');
  return p + 2 + l;
}

/** Validate every property block of a v5 control packet body `buf[start, end)`. */
export function checkControlProperties(
  type: number,
  buf: Buffer,
  start: number,
  end: number,
): void {
  const len = end - start;
  switch (type) {
    case 1: {
      // CONNECT: protocol name, level, flags, keep-alive, properties, client id, will properties.
      let p = skip(buf, start, end);
      if (p + 4 > end) throw new PropertyError(RC.MALFORMED, 'short CONNECT');
      const flags = buf[p + 1]!;
      p = walkProperties(buf, p + 4, end, 'connect');
      p = skip(buf, p, end);
      if (flags & 0x04) walkProperties(buf, p, end, 'will');
      return;
    }
    case 4:
    case 5:
    case 6:
    case 7: {
      const kind = ['puback', 'pubrec', 'pubrel', 'pubcomp'][type - 4]!;
      if (len >= 4 && walkProperties(buf, start + 3, end, kind) !== end) {
        throw new PropertyError(RC.MALFORMED, 'trailing bytes');
      }
      return;
    }
    case 8:
    case 10:
      if (len >= 2) walkProperties(buf, start + 2, end, type === 8 ? 'subscribe' : 'unsubscribe');
      return;
    case 14:
    case 15:
      if (
        len >= 2 &&
        walkProperties(buf, start + 1, end, type === 14 ? 'disconnect' : 'auth') !== end
      ) {
        throw new PropertyError(RC.MALFORMED, 'trailing bytes');
      }
      return;
    default:
      return;
  }
}

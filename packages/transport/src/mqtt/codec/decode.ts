/**
 * Decoding of every packet except PUBLISH, through mqtt-packet, plus the checks mqtt-packet leaves
 * to the receiver: trailing bytes, duplicated or misplaced v5 properties, ill-formed UTF-8 and
 * U+0000 in strings, empty SUBSCRIBE/UNSUBSCRIBE payloads, zero packet identifiers.
 */
import mqttPacket from 'mqtt-packet';
import type { Packet, Parser } from 'mqtt-packet';
import { RC } from '../reason-codes.js';
import { badChars } from '../topics.js';
import { PropertyError, checkControlProperties } from './properties.js';

/** A decoding failure: the reason code (0x81 malformed, 0x82 protocol error, 0x84 version). */
export class DecodeError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Packet types a client may send to a server. */
const CLIENT_TO_SERVER = new Set([
  'connect',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'unsubscribe',
  'pingreq',
  'disconnect',
  'auth',
]);

const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

/** True when a decoded string hid ill-formed UTF-8 or contained U+0000 ([MQTT-1.5.4-1], [MQTT-1.5.4-2]). */
function badString(s: string | undefined, raw: Buffer): boolean {
  if (s === undefined) return false;
  if (badChars(s)) return true;
  // mqtt-packet decodes with replacement characters; a U+FFFD with no EF BF BD in the raw bytes
  // was an ill-formed sequence.
  return s.includes('\uFFFD') && !raw.includes(REPLACEMENT);
}

/** A per-connection decoder for complete non-PUBLISH frames. */
export class ControlDecoder {
  private parser: Parser;
  private out: Packet | null = null;
  private err: Error | null = null;
  private pos = -1;

  constructor(readonly protocolVersion: number) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on('packet', (p: Packet) => {
      this.out = p;
      // The parser's read position after the payload, before it resets: catches trailing bytes.
      this.pos = (this.parser as unknown as { _pos: number })._pos;
    });
    this.parser.on('error', (e: Error) => {
      this.err = e;
    });
  }

  /** Decode one complete frame (fixed header included); throws DecodeError when it is bad. */
  decode(frame: Buffer, bodyLength: number): Packet {
    const header = frame[0]!;
    const type = header >> 4;
    // [MQTT-2.2.2-1] [MQTT-2.2.2-2] Reserved flag bits must be as the table says; packet types 0
    // (and 15 before v5) are reserved. Both are protocol errors.
    // Server → client types (CONNACK, SUBACK, UNSUBACK, PINGRESP) and type 0 are protocol errors.
    if (type === 0 || type === 2 || type === 9 || type === 11 || type === 13) {
      const code =
        (header & 0x0f) !== 0 && type !== 0 && type !== 2 ? RC.MALFORMED : RC.PROTOCOL_ERROR;
      throw new DecodeError(code, 'packet type not for a server');
    }
    if (type === 15 && this.protocolVersion !== 5) {
      throw new DecodeError(RC.PROTOCOL_ERROR, 'reserved packet type');
    }
    const flags = type === 6 || type === 8 || type === 10 ? 2 : 0;
    if ((header & 0x0f) !== flags) {
      // Bad flags make PUBREL, DISCONNECT and AUTH a protocol error and the others malformed
      // (the split Mosquitto uses; the spec only says "close").
      const protocol = type === 6 || type === 14 || type === 15;
      throw new DecodeError(protocol ? RC.PROTOCOL_ERROR : RC.MALFORMED, 'reserved flags');
    }
    if (this.protocolVersion === 5 || type === 1) {
      const bodyStart = frame.length - bodyLength;
      try {
        if (type !== 1 || frame[bodyStart + 2 + frame.readUInt16BE(bodyStart)] === 5) {
          checkControlProperties(type, frame, bodyStart, frame.length);
        }
      } catch (e) {
        if (e instanceof PropertyError) throw new DecodeError(e.reasonCode, e.message);
        throw new DecodeError(RC.MALFORMED, 'short packet');
      }
      if (type === 1 && frame[bodyStart + 2 + frame.readUInt16BE(bodyStart)] === 3) {
        // MQTT 3.1 has no reserved CONNECT flag: clear bit 0 so the parser accepts it.
        frame = Buffer.from(frame);
        const at = bodyStart + 2 + frame.readUInt16BE(bodyStart) + 1;
        if (at < frame.length) frame[at] = frame[at]! & 0xfe;
      }
    }
    this.out = null;
    this.err = null;
    try {
      this.parser.parse(frame);
    } catch (e) {
      throw new DecodeError(RC.MALFORMED, `undecodable packet: ${(e as Error).message}`);
    }
    const err = this.err as Error | null;
    if (err !== null) {
      const msg = err.message;
      this.parser = mqttPacket.parser({ protocolVersion: this.protocolVersion });
      this.rebind();
      if (msg === 'Invalid protocol version') {
        throw new DecodeError(RC.UNSUPPORTED_PROTOCOL_VERSION, msg);
      }
      // Flag and reason-code violations are protocol errors; everything else is malformed.
      const protocol = /Connect flag|reason code|Invalid protocolId|Will (QoS|Retain)/.test(msg);
      throw new DecodeError(protocol ? RC.PROTOCOL_ERROR : RC.MALFORMED, msg);
    }
    const p = this.out as Packet | null;
    if (p === null) throw new DecodeError(RC.MALFORMED, 'incomplete packet');
    if (this.pos !== bodyLength && (p.cmd !== 'disconnect' || this.protocolVersion !== 5)) {
      throw new DecodeError(RC.MALFORMED, `${p.cmd}: ${bodyLength - this.pos} trailing bytes`);
    }
    if (!CLIENT_TO_SERVER.has(p.cmd)) {
      // [MQTT-2.2.2] A server never receives CONNACK, SUBACK, UNSUBACK or PINGRESP.
      throw new DecodeError(RC.PROTOCOL_ERROR, `${p.cmd} sent to a server`);
    }
    this.validate(p, frame);
    return p;
  }

  private rebind(): void {
    this.parser.on('packet', (p: Packet) => {
      this.out = p;
      this.pos = (this.parser as unknown as { _pos: number })._pos;
    });
    this.parser.on('error', (e: Error) => {
      this.err = e;
    });
  }

  private validate(p: Packet, frame: Buffer): void {
    if (p.cmd !== 'connect' && p.cmd !== 'disconnect' && p.cmd !== 'auth' && p.cmd !== 'pingreq') {
      const id = (p as { messageId?: number }).messageId;
      if (id === undefined || id < 0) throw new DecodeError(RC.MALFORMED, 'no packet id');
    }
    switch (p.cmd) {
      case 'connect': {
        // [MQTT-3.1.3-4] The Client Identifier is a UTF-8 string: 0x85 when it is not a valid one.
        if (badString(p.clientId, frame))
          throw new DecodeError(RC.CLIENT_ID_NOT_VALID, 'bad client id');
        if (badString(p.username, frame))
          throw new DecodeError(RC.MALFORMED, 'bad UTF-8 in CONNECT');
        // [MQTT-3.1.2-22] v3.1.1: a password needs a user name.
        if (p.protocolVersion !== 5 && p.password !== undefined && p.username === undefined) {
          throw new DecodeError(RC.MALFORMED, 'password without user name');
        }
        if (p.will !== undefined) {
          // [MQTT-3.1.2-12] Will QoS 3 is malformed.
          if ((p.will.qos ?? 0) > 2) throw new DecodeError(RC.MALFORMED, 'will QoS 3');
          if (badString(p.will.topic, frame)) throw new DecodeError(RC.MALFORMED, 'bad will topic');
        }
        if (p.protocolVersion === 5) {
          const props = p.properties;
          if (props?.authenticationData !== undefined && props.authenticationMethod === undefined) {
            throw new DecodeError(RC.PROTOCOL_ERROR, 'Authentication Data without a method');
          }
        }
        return;
      }
      case 'subscribe': {
        // [MQTT-2.3.1-1] SUBSCRIBE needs a non-zero packet identifier.
        if (p.messageId === 0) throw new DecodeError(RC.MALFORMED, 'packet id 0');
        // [MQTT-3.8.3-3] The payload MUST contain at least one filter/options pair.
        if (p.subscriptions.length === 0) throw new DecodeError(RC.MALFORMED, 'no filters');
        for (const s of p.subscriptions) {
          if (badString(s.topic, frame)) throw new DecodeError(RC.MALFORMED, 'bad filter UTF-8');
        }
        return;
      }
      case 'unsubscribe': {
        if (p.messageId === 0) throw new DecodeError(RC.MALFORMED, 'packet id 0');
        // [MQTT-3.10.3-2] The payload MUST contain at least one filter.
        if (p.unsubscriptions.length === 0) throw new DecodeError(RC.MALFORMED, 'no filters');
        for (const t of p.unsubscriptions) {
          if (badString(t, frame)) throw new DecodeError(RC.MALFORMED, 'bad filter UTF-8');
        }
        return;
      }
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        if (p.messageId === 0) throw new DecodeError(RC.PROTOCOL_ERROR, 'packet id 0');
        return;
      case 'disconnect':
        if (this.protocolVersion !== 5 && frame.length !== 2)
          throw new DecodeError(RC.MALFORMED, 'DISCONNECT with payload');
        return;
      case 'auth':
        if (this.protocolVersion !== 5) throw new DecodeError(RC.PROTOCOL_ERROR, 'AUTH in v3.1.1');
        return;
      default:
        return;
    }
  }
}

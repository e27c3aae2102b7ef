/** Encoders for the small control packets the server sends (everything but PUBLISH). */
import {
  connackReason,
  disconnectReason,
  pubackReason,
  pubrelReason,
  subackReason,
  unsubackReason,
} from '../reason-map.js';
import { ByteWriter, frame } from './wire.js';

export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70 ([MQTT-3.6.1-1]: PUBREL flags 0010). */
export type AckHeader = 0x40 | 0x50 | 0x62 | 0x70;

/**
 * Encode an acknowledgement. v5 omits the reason code when it is Success and there are no
 * properties (MQTT 5 §3.4.2.1), which is also the v3.1.1 form. The code is passed through the
 * packet type's mapping, so only a code MQTT 5 allows there can leave (`reason-map.ts`).
 */
export function encodeAck(
  header: AckHeader,
  packetId: number,
  code: number,
  v5: boolean,
  reasonString?: string,
): Buffer {
  const reason = header === 0x40 || header === 0x50 ? pubackReason(code) : pubrelReason(code);
  if (!v5 || (reason === 0 && reasonString === undefined))
    return Buffer.from([header, 2, packetId >> 8, packetId & 0xff]);
  if (reasonString === undefined)
    return Buffer.from([header, 3, packetId >> 8, packetId & 0xff, reason]);
  // MQTT 5 §3.4.2.2: properties with a Reason String (0x1F), human-readable, for diagnostics.
  const p = new ByteWriter().byte(0x1f).str(reasonString);
  const w = new ByteWriter().u16(packetId).byte(reason).varint(p.length).raw(p.toBuffer());
  return frame(header, w.toBuffer());
}

/**
 * SUBACK with one return/reason code per filter ([MQTT-3.8.4-5]); v3.1.1 knows only 0, 1, 2 and
 * 0x80 Failure ([MQTT-3.9.3-2]).
 */
export function encodeSuback(packetId: number, codes: number[], v5: boolean): Buffer {
  const w = new ByteWriter().u16(packetId);
  if (v5) w.byte(0);
  w.raw(Buffer.from(codes.map((c) => (v5 ? subackReason(c) : c <= 2 && c >= 0 ? c : 0x80))));
  return frame(0x90, w.toBuffer());
}

/** UNSUBACK: v3.1.1 has no payload; v5 has a reason code per filter. */
export function encodeUnsuback(packetId: number, codes: number[], v5: boolean): Buffer {
  const w = new ByteWriter().u16(packetId);
  if (v5) w.byte(0).raw(Buffer.from(codes.map(unsubackReason)));
  return frame(0xb0, w.toBuffer());
}

/** v5 DISCONNECT with a reason code (and optionally a Reason String). */
export function encodeDisconnect(reason: number, reasonString?: string): Buffer {
  const w = new ByteWriter().byte(disconnectReason(reason));
  if (reasonString !== undefined) {
    const p = new ByteWriter().byte(0x1f).str(reasonString);
    w.varint(p.length).raw(p.toBuffer());
  }
  return frame(0xe0, w.toBuffer());
}

/** The CONNACK properties the server announces (MQTT 5 §3.2.2.3). */
export interface ConnackProperties {
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumQoS?: number;
  retainAvailable?: boolean;
  maximumPacketSize?: number;
  assignedClientIdentifier?: string;
  topicAliasMaximum?: number;
  reasonString?: string;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifiersAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
  serverKeepAlive?: number;
}

/** CONNACK for v3.1.1 (return code, mapped by the caller) or v5 (reason code and properties). */
export function encodeConnack(
  sessionPresent: boolean,
  code: number,
  v5: boolean,
  props: ConnackProperties = {},
): Buffer {
  const w = new ByteWriter().byte(sessionPresent ? 1 : 0).byte(v5 ? connackReason(code) : code);
  if (v5) {
    const p = new ByteWriter();
    if (props.sessionExpiryInterval !== undefined) p.byte(0x11).u32(props.sessionExpiryInterval);
    if (props.receiveMaximum !== undefined) p.byte(0x21).u16(props.receiveMaximum);
    if (props.maximumQoS !== undefined) p.byte(0x24).byte(props.maximumQoS);
    if (props.retainAvailable !== undefined) p.byte(0x25).byte(props.retainAvailable ? 1 : 0);
    if (props.maximumPacketSize !== undefined) p.byte(0x27).u32(props.maximumPacketSize);
    if (props.assignedClientIdentifier !== undefined) {
      p.byte(0x12).str(props.assignedClientIdentifier);
    }
    if (props.topicAliasMaximum !== undefined) p.byte(0x22).u16(props.topicAliasMaximum);
    if (props.reasonString !== undefined) p.byte(0x1f).str(props.reasonString);
    if (props.wildcardSubscriptionAvailable !== undefined) {
      p.byte(0x28).byte(props.wildcardSubscriptionAvailable ? 1 : 0);
    }
    if (props.subscriptionIdentifiersAvailable !== undefined) {
      p.byte(0x29).byte(props.subscriptionIdentifiersAvailable ? 1 : 0);
    }
    if (props.sharedSubscriptionAvailable !== undefined) {
      p.byte(0x2a).byte(props.sharedSubscriptionAvailable ? 1 : 0);
    }
    if (props.serverKeepAlive !== undefined) p.byte(0x13).u16(props.serverKeepAlive);
    w.varint(p.length).raw(p.toBuffer());
  }
  return frame(0x20, w.toBuffer());
}

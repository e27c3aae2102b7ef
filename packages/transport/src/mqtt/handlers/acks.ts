/** PUBACK, PUBREC, PUBREL, PUBCOMP from the client (MQTT 5 §4.3.2, §4.3.3). */
import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { encodeAck } from '../codec/packets.js';
import { RC } from '../reason-codes.js';

type Ack = IPubackPacket | IPubrecPacket | IPubrelPacket | IPubcompPacket;

/** Handle an acknowledgement packet. */
export function handleAck(conn: Connection, p: Ack): void {
  const session = conn.session!;
  const id = p.messageId!;
  const pending = session.inflight.get(id);
  switch (p.cmd) {
    case 'puback':
      // An acknowledgement of the wrong kind for a message in flight is a protocol error
      // (PUBACK for QoS 2, PUBREC/PUBCOMP for QoS 1); unknown ids are ignored.
      if (pending !== undefined && pending.qos !== 1)
        return conn.fail(RC.PROTOCOL_ERROR, 'ack_qos');
      session.complete(id);
      return;
    case 'pubcomp':
      // PUBCOMP before PUBREC/PUBREL, or for a QoS 1 message, is a protocol error.
      if (pending !== undefined && (pending.qos !== 2 || !pending.released)) {
        return conn.fail(RC.PROTOCOL_ERROR, 'ack_qos');
      }
      session.complete(id);
      return;
    case 'pubrec':
      if (pending !== undefined && pending.qos !== 2)
        return conn.fail(RC.PROTOCOL_ERROR, 'ack_qos');
      if (!session.received(id, p.reasonCode ?? 0) && (p.reasonCode ?? 0) < 0x80) {
        // Unknown id: PUBREL anyway so the client can finish its state (as Mosquitto does).
        conn.write(encodeAck(0x62, id, 0, conn.v5));
      }
      return;
    case 'pubrel': {
      // [MQTT-4.3.3-11] Answer PUBCOMP and forget the id (also for an id we no longer know, so
      // a client resending PUBREL after a reconnect completes).
      session.inboundQos2.delete(id);
      conn.write(encodeAck(0x70, id, 0, conn.v5));
      return;
    }
  }
}

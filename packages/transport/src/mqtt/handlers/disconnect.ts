/** DISCONNECT from the client (MQTT 5 §3.14; 3.1.1 §3.14). */
import type { IDisconnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { RC } from '../reason-codes.js';

/** Handle DISCONNECT: drop the will unless v5 reason 0x04 asks for it, update session expiry. */
export function handleDisconnect(conn: Connection, p: IDisconnectPacket): void {
  const session = conn.session!;
  const expiry = p.properties?.sessionExpiryInterval;
  if (conn.v5 && expiry !== undefined) {
    // [MQTT-3.14.2-2] A session that was to end with the connection cannot be extended now.
    if (session.expiryInterval === 0 && expiry !== 0) {
      return conn.fail(RC.PROTOCOL_ERROR, 'session_expiry_after_zero');
    }
    session.expiryInterval = Math.min(expiry, conn.engine.limits.maxSessionExpiry);
  }
  // [MQTT-3.14.4-3] A normal DISCONNECT discards the will; v5 0x04 keeps it.
  conn.cleanExit = !(conn.v5 && p.reasonCode === RC.DISCONNECT_WITH_WILL);
  conn.close('client_disconnect');
}

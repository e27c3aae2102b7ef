/** CONNECT → authenticate → session → CONNACK (MQTT 5 §3.1, §3.2; 3.1.1 §3.1, §3.2). */
import { randomUUID } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { ClientIdentity, ConnectRefusal, GrantedSubscription } from '../hooks.js';
import type { ConnackProperties } from '../codec/packets.js';
import { encodeConnack } from '../codec/packets.js';
import { createMessage } from '../message.js';
import type { MessageProperties } from '../message.js';
import { attempt, then } from '../maybe.js';
import { RC, v3ConnackCode } from '../reason-codes.js';
import { badChars, checkTopicName } from '../topics.js';

/** Refuse a connection: CONNACK with the reason (v5) or its v3.1.1 return code, then close ([MQTT-3.2.2-5]). */
export function refuseConnect(conn: Connection, reason: number, why: string): void {
  const code = conn.v5 ? reason : v3ConnackCode(reason);
  conn.write(encodeConnack(false, code, conn.v5));
  conn.engine.countRefusedConnect(why);
  conn.close(why);
}

/** Handle the CONNECT packet. */
export function handleConnect(conn: Connection, p: IConnectPacket): void | Promise<void> {
  const engine = conn.engine;
  const limits = engine.limits;
  const version = p.protocolVersion ?? 4;
  // [MQTT-3.1.2-1] The protocol name must match the level ('MQIsdp' is 3.1, 'MQTT' is 3.1.1 and 5).
  if ((p.protocolId === 'MQIsdp') !== (version === 3)) {
    conn.write(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    return conn.close('bad_protocol_name');
  }
  conn.setProtocol(version);
  const v5 = version === 5;
  const props = p.properties ?? {};
  const clean = p.clean !== false;
  let clientId = p.clientId;
  let assigned: string | undefined;
  if (clientId.length === 0) {
    if (v5) {
      // [MQTT-3.1.3-6] / [MQTT-3.2.2-16] Assign an identifier and return it.
      clientId = assigned = `bulwark-${randomUUID()}`;
    } else if (version === 4 && clean) {
      // [MQTT-3.1.3-6] v3.1.1 allows an empty id with Clean Session 1; we make one up.
      clientId = `bulwark-${randomUUID()}`;
    } else {
      // [MQTT-3.1.3-8] Empty id with Clean Session 0: identifier rejected.
      return refuseConnect(conn, RC.CLIENT_ID_NOT_VALID, 'client_id_rejected');
    }
  } else if (badChars(clientId) || clientId.includes('\uFFFD')) {
    // Control characters and ill-formed UTF-8 in the identifier: 0x85 (v5) / 0x02 (v3.1.1).
    return refuseConnect(conn, RC.CLIENT_ID_NOT_VALID, 'client_id_rejected');
  }
  if (v5 && props.authenticationMethod !== undefined) {
    // Enhanced authentication (MQTT 5 §4.12) is not offered: 0x8C Bad authentication method.
    return refuseConnect(conn, RC.BAD_AUTH_METHOD, 'auth_method_unsupported');
  }
  conn.clientId = clientId;

  // Session expiry: v5 property (0 by default [MQTT-3.1.2-…]); v3.1.1 persistent sessions get our cap.
  let expiry = v5 ? (props.sessionExpiryInterval ?? 0) : clean ? 0 : limits.maxSessionExpiry;
  const connack: ConnackProperties = {};
  if (expiry > limits.maxSessionExpiry) {
    expiry = limits.maxSessionExpiry;
    connack.sessionExpiryInterval = expiry; // [MQTT-3.2.2-…] tell the client what it got
  }
  conn.sendQuota = Math.min(props.receiveMaximum ?? 65_535, limits.maxInflight);
  conn.clientMaxPacket = props.maximumPacketSize ?? Infinity;

  let keepAlive = p.keepalive ?? 0;
  if (limits.maxKeepAlive > 0 && (keepAlive === 0 || keepAlive > limits.maxKeepAlive)) {
    keepAlive = limits.maxKeepAlive;
    if (v5) connack.serverKeepAlive = keepAlive; // [MQTT-3.2.2-21]
  }

  if (p.will !== undefined) {
    const w = p.will;
    const topicBytes = Buffer.byteLength(w.topic);
    if (
      checkTopicName(w.topic, topicBytes, limits.maxTopicLength, limits.maxTopicLevels) !== null
    ) {
      // [MQTT-3.1.3-11] The Will Topic must be a valid topic name.
      if (v5) return refuseConnect(conn, RC.MALFORMED, 'bad_will_topic');
      return conn.close('bad_will_topic');
    }
    const wp = w.properties ?? {};
    let mprops: MessageProperties | null = null;
    if (wp.contentType !== undefined) (mprops ??= {}).contentType = wp.contentType;
    if (wp.responseTopic !== undefined) (mprops ??= {}).responseTopic = wp.responseTopic;
    if (wp.correlationData !== undefined) (mprops ??= {}).correlationData = wp.correlationData;
    if (wp.payloadFormatIndicator !== undefined) {
      (mprops ??= {}).payloadFormatIndicator = wp.payloadFormatIndicator ? 1 : 0;
    }
    if (wp.userProperties !== undefined) {
      (mprops ??= {}).userProperties = flattenUserProps(wp.userProperties);
    }
    const payload = typeof w.payload === 'string' ? Buffer.from(w.payload) : w.payload;
    conn.will = {
      msg: createMessage(
        w.topic,
        Buffer.from(payload),
        w.qos ?? 0,
        w.retain === true,
        mprops,
        wp.messageExpiryInterval ?? 0,
        null,
      ),
      delaySeconds: wp.willDelayInterval ?? 0,
    };
  }

  if (!engine.admitAddress(conn)) {
    return refuseConnect(conn, RC.QUOTA_EXCEEDED, 'connections_per_address');
  }

  const info = {
    clientId,
    protocolVersion: version,
    remoteAddress: conn.meta.remoteAddress,
    listener: conn.meta.listener,
    ...(p.username !== undefined ? { username: p.username } : {}),
    ...(p.password !== undefined ? { password: new Uint8Array(p.password) } : {}),
    ...(conn.meta.certificate !== undefined ? { certificate: conn.meta.certificate } : {}),
  };
  const authn = attempt(() => engine.hooks.authenticate(info));
  const done = then(authn, (r: ClientIdentity | { refuse: ConnectRefusal }) => {
    if (conn.state === 'closed') return;
    if ('refuse' in r) return refuseConnect(conn, r.refuse, 'authentication_refused');
    conn.identity = r;
    const present = engine.attachSession(conn, r, clean, expiry);
    // Announce our limits (MQTT 5 §3.2.2.3); defaults (QoS 2, retain, wildcards…) are implied.
    if (v5) {
      connack.receiveMaximum = limits.receiveMaximum;
      connack.maximumPacketSize = limits.maxPacketSize;
      connack.topicAliasMaximum = limits.topicAliasMaximum;
      if (assigned !== undefined) connack.assignedClientIdentifier = assigned;
    }
    // [MQTT-3.2.2-2] Session Present is 1 only when a session was resumed (MQTT 3.1 has no flag).
    const ack = encodeConnack(present && version !== 3, 0, v5, connack);
    if (ack.length > conn.clientMaxPacket) {
      // [MQTT-3.1.2-24] Not even CONNACK fits the client's Maximum Packet Size: close.
      return conn.close('client_max_packet_too_small');
    }
    conn.write(ack);
    conn.state = 'connected';
    conn.startKeepAlive(keepAlive);
    engine.connected(conn, r);
    if (present) {
      conn.session!.resume();
      // A resumed session's subscriptions hold without a new SUBSCRIBE: tell the hooks too.
      const held: GrantedSubscription[] = [];
      for (const s of conn.session!.subs.values())
        if (s.group === null) held.push({ filter: s.raw, qos: s.qos });
      if (held.length > 0) engine.hooks.onSubscribed?.(r, held);
    }
  });
  if (done instanceof Promise) {
    return done.catch((err: unknown) => {
      engine.log.warn({ err, clientId }, 'mqtt authenticate hook failed');
      if (conn.state !== 'closed') refuseConnect(conn, RC.SERVER_UNAVAILABLE, 'authenticate_error');
    });
  }
}

/** mqtt-packet gives repeated user properties as arrays; keep them as ordered pairs. */
export function flattenUserProps(
  u: Record<string, string | string[]> | undefined,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(u ?? {})) {
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}

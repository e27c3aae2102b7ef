/** CONNECT → authenticate → session → CONNACK (MQTT 5 §3.1, §3.2; 3.1.1 §3.1, §3.2). */
import { randomUUID } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { ClientIdentity, ConnectRefusal, GrantedSubscription } from '../hooks.js';
import type { ConnackProperties } from '../codec/packets.js';
import { encodeConnack } from '../codec/packets.js';
import { createMessage } from '../message.js';
import type { MessageProperties } from '../message.js';
import { attempt, isPromise, then } from '../maybe.js';
import type { Maybe } from '../maybe.js';
import { reauthorizeSession } from '../access.js';
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
  // An empty identifier is decided after authentication: the hook may assign one (a device's own
  // id), so "no id" from a device means "my device id" (see `identify`).
  const clientId = p.clientId;
  if (!validClientId(clientId, true)) {
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
    clean,
    remoteAddress: conn.meta.remoteAddress,
    listener: conn.meta.listener,
    ...(p.username !== undefined ? { username: p.username } : {}),
    ...(p.password !== undefined ? { password: new Uint8Array(p.password) } : {}),
    ...(conn.meta.certificate !== undefined ? { certificate: conn.meta.certificate } : {}),
  };
  const authn = attempt(() => engine.hooks.authenticate(info));
  const done = then(authn, (r: ClientIdentity | { refuse: ConnectRefusal }): Maybe<void> => {
    if (conn.state === 'closed') return;
    if ('refuse' in r) return refuseConnect(conn, r.refuse, 'authentication_refused');
    const id = identify(conn, clientId, clean, r);
    if (typeof id === 'string') return refuseConnect(conn, RC.CLIENT_ID_NOT_VALID, id);
    // In a cluster a resumed session is taken up from the shared store first (decision 0020).
    const taken =
      !clean && engine.persistence?.shared === true ? engine.persistence.takeUp(r.id) : undefined;
    return then(taken, () => admitSession(conn, r, id, clean, expiry, connack, keepAlive));
  });
  if (isPromise(done)) {
    return done.catch((err: unknown) => {
      engine.log.warn({ err, clientId }, 'mqtt authenticate or authorizeSubscribe hook failed');
      // The session (if one was attached) stays as it was: nothing was delivered from it.
      if (conn.state !== 'closed') refuseConnect(conn, RC.SERVER_UNAVAILABLE, 'authenticate_error');
    });
  }
}

/** Attach the authenticated connection to its session, authorize held subscriptions, CONNACK. */
function admitSession(
  conn: Connection,
  r: ClientIdentity,
  id: Identified,
  clean: boolean,
  expiry: number,
  connack: ConnackProperties,
  keepAlive: number,
): Maybe<void> {
  const engine = conn.engine;
  const limits = engine.limits;
  const v5 = conn.v5;
  const version = conn.protocolVersion;
  if (conn.state === 'closed') return;
  if (!engine.sessions.hasRoom(r.id)) {
    // `maxSessions`: no room for another session (live or offline) in this engine.
    return refuseConnect(conn, RC.QUOTA_EXCEEDED, 'sessions_full');
  }
  conn.clientId = id.clientId;
  conn.identity = r;
  const present = engine.sessions.attach(conn, r, clean, expiry);
  // A resumed session's subscriptions are authorized again before anything is delivered
  // (DESIGN.md §4.1): the session is not live until the hook has answered for each of them.
  const held = present
    ? reauthorizeSession(engine, conn.session!, r, 'resume', () => conn.state !== 'closed')
    : null;
  return then(held, (re) => {
    if (conn.state === 'closed') return;
    // Announce our limits (MQTT 5 §3.2.2.3); defaults (QoS 2, retain, wildcards…) are implied.
    if (v5) {
      connack.receiveMaximum = limits.receiveMaximum;
      connack.maximumPacketSize = limits.maxPacketSize;
      connack.topicAliasMaximum = limits.topicAliasMaximum;
      if (id.assigned) connack.assignedClientIdentifier = id.clientId;
    }
    // [MQTT-3.2.2-2] Session Present is 1 only when a session was resumed (MQTT 3.1 has no flag).
    const ack = encodeConnack(present && version !== 3, 0, v5, connack);
    if (ack.length > conn.clientMaxPacket) {
      // [MQTT-3.1.2-24] Not even CONNACK fits the client's Maximum Packet Size: close.
      return conn.close('client_max_packet_too_small');
    }
    conn.write(ack);
    engine.sessions.goLive(conn);
    conn.state = 'connected';
    conn.startKeepAlive(keepAlive);
    engine.connected(conn, r);
    if (re !== null) {
      conn.session!.resume();
      // The held subscriptions that are still allowed hold without a new SUBSCRIBE: tell the
      // hooks too (plain ones: shared subscriptions are not `deliverTo`'s).
      const kept: GrantedSubscription[] = [];
      for (const s of re.kept) if (s.group === null) kept.push({ filter: s.raw, qos: s.qos });
      if (kept.length > 0) engine.hooks.onSubscribed?.(r, kept);
    }
  });
}

/** The client identifier a connection goes by, and whether the server assigned it. */
interface Identified {
  clientId: string;
  assigned: boolean;
}

/**
 * Decide the client identifier once the client is authenticated; a string is the refusal's
 * reason (0x85 / v3.1.1 return code 2). The identifier is only a name: the session key is
 * `identity.id`.
 */
function identify(
  conn: Connection,
  sent: string,
  clean: boolean,
  identity: ClientIdentity,
): Identified | string {
  // The session key must name a principal; an empty one would make every such client one session.
  if (typeof identity.id !== 'string' || identity.id === '') return 'no_session_key';
  if (sent !== '') return { clientId: sent, assigned: false };
  const version = conn.protocolVersion;
  if (identity.clientId !== undefined) {
    if (!validClientId(identity.clientId, false)) return 'assigned_client_id_invalid';
    // [MQTT-3.2.2-16] v5 learns it as the Assigned Client Identifier. v3.1.1 with Clean Session 0
    // is accepted too (a deliberate difference from [MQTT-3.1.3-8], decision record 0014): the
    // principal, not the missing identifier, names the session.
    return { clientId: identity.clientId, assigned: version === 5 };
  }
  // [MQTT-3.1.3-6] / [MQTT-3.2.2-16] v5, and v3.1.1 with Clean Session 1: we make one up.
  if (version === 5) return { clientId: `bulwark-${randomUUID()}`, assigned: true };
  if (version === 4 && clean) return { clientId: `bulwark-${randomUUID()}`, assigned: false };
  // [MQTT-3.1.3-8] Empty id with Clean Session 0 (or MQTT 3.1): identifier rejected.
  return 'client_id_rejected';
}

/** A client identifier we accept: UTF-8 without control characters, at most 65,535 bytes. */
function validClientId(id: string, mayBeEmpty: boolean): boolean {
  if (id.length === 0) return mayBeEmpty;
  return !badChars(id) && !id.includes('\uFFFD') && Buffer.byteLength(id) <= 0xffff;
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

/**
 * Inbound PUBLISH (MQTT 5 §3.3, §4.3): decode → validate → authorize → wait for queue room →
 * onPublish (durability) → route → acknowledge. Synchronous end to end when the hooks are;
 * otherwise the message joins the connection's inbound window (inbound-window.ts, decision record
 * 0018): the hand-off to onPublish and the final commit (route, acknowledge or refuse) keep the
 * order received while later messages are already being read.
 */
import type { Connection } from '../connection.js';
import type { InboundPublish } from '../hooks.js';
import { MqttRefusal } from '../hooks.js';
import { decodePublish } from '../codec/publish.js';
import type { DecodedPublish } from '../codec/publish.js';
import { encodeAck } from '../codec/packets.js';
import { createMessage } from '../message.js';
import type { Message } from '../message.js';
import { attempt, isPromise, then } from '../maybe.js';
import type { Maybe } from '../maybe.js';
import type { Commit, Turn } from '../inbound-window.js';
import { RC } from '../reason-codes.js';
import { pubackReason, reasonName } from '../reason-map.js';
import { countDrop } from '../session.js';
import { checkTopicName } from '../topics.js';

/** Handle one inbound PUBLISH in `buf[start, end)`. */
export function handlePublish(
  conn: Connection,
  flags: number,
  buf: Buffer,
  start: number,
  end: number,
): void {
  const engine = conn.engine;
  const limits = engine.limits;
  const d = decodePublish(flags, buf, start, end, conn.v5);
  if (typeof d === 'number') return conn.fail(d, 'malformed_publish');
  const v5 = conn.v5;
  let topic = d.topic;
  if (d.topicAlias !== 0) {
    // [MQTT-3.3.2-9] An alias above our Topic Alias Maximum is a protocol error (0x94).
    if (d.topicAlias > limits.topicAliasMaximum) return conn.fail(RC.TOPIC_ALIAS_INVALID, 'alias');
    if (topic.length === 0) {
      const known = conn.aliases.get(d.topicAlias);
      // [MQTT-3.3.4-…] An unknown alias with an empty topic is a protocol error.
      if (known === undefined) return conn.fail(RC.PROTOCOL_ERROR, 'unknown_alias');
      topic = known;
    } else conn.aliases.set(d.topicAlias, topic); // [MQTT-3.3.2-12] (re)define the alias
  }
  // [MQTT-3.3.2-1] [MQTT-4.7.3-1] A zero-length topic without an alias is malformed.
  if (topic.length === 0) return conn.fail(RC.MALFORMED, 'empty_topic');
  const problem = checkTopicName(
    topic,
    topic === d.topic ? d.topicBytes : Buffer.byteLength(topic),
    limits.maxTopicLength,
    limits.maxTopicLevels,
  );
  if (problem !== null) {
    // [MQTT-3.3.2-2] A wildcard in a topic name is malformed (0x81); our length/level limits
    // answer 0x90 Topic Name invalid. v3.1.1 clients are closed.
    const code =
      problem === 'wildcard' || problem === 'empty' ? RC.MALFORMED : RC.TOPIC_NAME_INVALID;
    return conn.fail(code, `topic_${problem}`);
  }
  const session = conn.session!;
  const inbound = conn.inbound;
  const bytes = end - start;
  if (d.qos === 2) {
    const id = d.packetId;
    // (An id whose PUBLISH was refused is free again: a new PUBLISH with it is a new message.)
    if (session.inboundQos2.has(id) || inbound.qos2.get(id) === -1) {
      // [MQTT-4.3.3-9] A re-sent QoS 2 PUBLISH we already own (or are still storing): PUBREC
      // again, in order and with the answer the first one got; never stored or routed twice.
      return inbound.add(
        () => {
          if (conn.state === 'closed') return;
          const first = inbound.qos2.get(id);
          conn.write(encodeAck(0x50, id, first !== undefined && first >= 0x80 ? first : 0, v5));
        },
        2,
        bytes,
      );
    }
    // [MQTT-3.3.4-9] More unacknowledged QoS 1/2 than our Receive Maximum: 0x93.
    if (v5 && session.inboundQos2.size + inbound.unacked >= limits.receiveMaximum) {
      return conn.fail(RC.RECEIVE_MAXIMUM_EXCEEDED, 'receive_maximum');
    }
    inbound.qos2.set(id, -1);
  }
  if (d.formatInvalid) {
    // [MQTT-3.3.2-4] Payload Format Indicator 1 with a non-UTF-8 payload: 0x99.
    const code = RC.PAYLOAD_FORMAT_INVALID;
    return inbound.add(() => refuse(conn, d, code, 'payload_format_invalid'), d.qos, bytes);
  }
  const identity = conn.identity!;
  // [MQTT-4.7.2-1] '$' topics belong to the server: clients may not publish to $SYS/… or to a
  // topic that looks like a shared subscription, whatever the hooks say.
  const reserved = topic.startsWith('$SYS/') || topic.startsWith('$share/');
  const authz = reserved
    ? RC.NOT_AUTHORIZED
    : attempt(() => engine.hooks.authorizePublish(identity, topic, d.qos));
  // Authorization runs concurrently; the hand-off to onPublish waits for the previous message's.
  const { prev, mine } = inbound.turn();
  const outcome = then(authz, (code) =>
    then(prev?.wait(), (): Maybe<Commit | void> => {
      // Cut while the hook answered (e.g. an access change): nothing more is taken from it.
      if (conn.state === 'closed') return countDrop(engine.counters, 'connection_closed');
      if (code !== 0) {
        engine.denied(identity, 'publish', topic, code, 'request');
        if (!v5) {
          // Deliberate v3.1.1 choice ([MQTT-3.3.5-2] allows either): acknowledge normally and
          // discard, so a misconfigured device does not fall into a reconnect loop.
          return () => ack(conn, d, 0);
        }
        return () => refuse(conn, d, code, 'not_authorized');
      }
      const msg = createMessage(topic, d.payload, d.qos, d.retain, d.props, d.expiry, session.key);
      return admit(conn, d, msg, Date.now(), mine);
    }),
  );
  inbound.add(settle(conn, d, outcome), d.qos, bytes, mine);
}

/** Wait while a QoS 1/2 message would land in a full session queue (publisher backpressure). */
function admit(
  conn: Connection,
  d: DecodedPublish,
  msg: Message,
  since: number,
  turn: Turn,
): Maybe<Commit | void> {
  const engine = conn.engine;
  // Storage behind (decision 0033): hand nothing more on until it catches up; what this
  // connection already read waits in its window, and the window stops the reading.
  const behind = engine.hooks.backpressure?.();
  if (behind !== undefined)
    return behind.then(() =>
      conn.state === 'closed'
        ? countDrop(engine.counters, 'connection_closed')
        : admit(conn, d, msg, since, turn),
    );
  if (d.qos > 0) {
    const full = engine.blockedBy(msg);
    if (full !== null) {
      const waited = Date.now() - since;
      if (waited >= engine.limits.backpressureTimeoutMs) {
        countDrop(engine.counters, 'quota_exceeded');
        engine.log.warn(
          { clientId: conn.clientId, topic: msg.topic, subscriber: full.clientId },
          'mqtt publish refused: subscriber queue full',
        );
        // v3.1.1: unacknowledged, the client resends.
        if (!conn.v5) return () => conn.close('queue_full');
        return () => refuse(conn, d, RC.QUOTA_EXCEEDED, 'quota_exceeded');
      }
      engine.counters.publishersHeld++;
      return new Promise<Commit | void>((resolve) => {
        const retry = (): void => {
          clearTimeout(timer);
          engine.counters.publishersHeld--;
          if (conn.state === 'closed') return resolve();
          resolve(admit(conn, d, msg, since, turn));
        };
        const timer = setTimeout(() => {
          full.waiters.delete(retry);
          retry();
        }, engine.limits.backpressureTimeoutMs - waited);
        full.waiters.add(retry);
      });
    }
  }
  return accept(conn, d, msg, turn);
}

/** Run onPublish; the commit then routes, stores retained, and acknowledges. */
function accept(
  conn: Connection,
  d: DecodedPublish,
  msg: Message,
  turn: Turn,
): Maybe<Commit | void> {
  const engine = conn.engine;
  const hooks = engine.hooks;
  if (conn.state === 'closed') return countDrop(engine.counters, 'connection_closed');
  let verdict: void | false | Promise<void | false> = undefined;
  if (hooks.onPublish !== undefined) {
    const inbound: InboundPublish = {
      topic: msg.topic,
      payload: msg.payload,
      qos: d.qos,
      retain: d.retain,
      ...(msg.props?.contentType !== undefined ? { contentType: msg.props.contentType } : {}),
    };
    verdict = attempt(() => hooks.onPublish!(conn.identity!, inbound));
  }
  // Handed on: the next message may go to onPublish now (its store joins the same batch).
  turn.release();
  const finish =
    (v: void | false): Commit =>
    () => {
      if (conn.state === 'closed' && d.qos > 0) return; // not acknowledged: the client resends
      // With a state store (decision 0020), what routing queued for persistent sessions, and a
      // retained message, is stored before the acknowledgement: QoS 2 then routes before PUBREC.
      const mark = engine.stateMark();
      const durable = engine.persistence !== null && d.qos > 0;
      // QoS 2: PUBREC first, then route (the copy to a self-subscription follows the PUBREC).
      // QoS 1: route, then PUBACK, which in v5 says 0x10 when nobody matched. Both in one tick.
      if (d.qos === 2) {
        if (!durable) ack(conn, d, 0);
        else conn.session!.inboundQos2.add(d.packetId); // stored with the message
      }
      let delivered = 1;
      if (v !== false) {
        if (d.retain) engine.retain(msg);
        delivered = engine.route(msg);
      }
      const code = d.qos === 1 && delivered === 0 && conn.v5 ? RC.NO_MATCHING_SUBSCRIBERS : 0;
      const stored = durable ? engine.storedSince(mark) : null;
      if (stored === null) {
        if (d.qos === 1 || (d.qos === 2 && durable)) ack(conn, d, code);
        return;
      }
      // Routing goes on in order; the acknowledgement waits for the state commit, behind those
      // deferred before it (the window keeps PUBACKs in the order received).
      conn.inbound.defer(
        stored,
        () => sendAck(conn, d, code),
        () => {
          if (d.qos === 2) conn.session?.inboundQos2.delete(d.packetId);
          refuse(conn, d, RC.UNSPECIFIED, 'state_not_stored', undefined, sendAck);
        },
      );
    };
  if (!isPromise(verdict)) return finish(verdict);
  return verdict.then(finish, (err: unknown): Commit => {
    if (err instanceof MqttRefusal) {
      const why = err.message.slice(0, 512);
      return () => refuse(conn, d, err.reasonCode, 'on_publish_refused', why);
    }
    engine.log.warn({ err, clientId: conn.clientId }, 'mqtt onPublish failed');
    if (!conn.v5) return () => conn.close('on_publish_error');
    return () => refuse(conn, d, RC.UNSPECIFIED, 'on_publish_error');
  });
}

/** Acknowledge in the order received: after any acknowledgement still waiting for a state commit. */
function ack(conn: Connection, d: DecodedPublish, reason: number, reasonString?: string): void {
  conn.inbound.inOrder(() => sendAck(conn, d, reason, reasonString));
}

function sendAck(conn: Connection, d: DecodedPublish, reason: number, reasonString?: string): void {
  // After a close (a take-over, an access change) nothing more is said on this connection, and
  // nothing is recorded in a session that may already belong to its successor.
  if (conn.state === 'closed') return;
  // [MQTT-3.4.2-2] No Reason String that would push the packet past the client's maximum size.
  const why =
    reasonString !== undefined && Buffer.byteLength(reasonString) + 16 <= conn.clientMaxPacket
      ? reasonString
      : undefined;
  if (d.qos === 1) conn.write(encodeAck(0x40, d.packetId, reason, conn.v5, why));
  else if (d.qos === 2) {
    // [MQTT-4.3.3-…] Keep the packet id until PUBREL so a re-sent PUBLISH is not routed again.
    if (reason < 0x80) {
      conn.session!.inboundQos2.add(d.packetId);
      conn.inbound.qos2.delete(d.packetId);
    } else conn.inbound.qos2.set(d.packetId, reason);
    conn.write(encodeAck(0x50, d.packetId, reason, conn.v5, why));
  }
}

/** Refuse a message visibly: v5 PUBACK/PUBREC with the reason; QoS 0 is dropped and counted. */
function refuse(
  conn: Connection,
  d: DecodedPublish,
  reason: number,
  why: string,
  reasonString?: string,
  send: typeof ack = ack,
): void {
  countDrop(conn.engine.counters, why);
  if (d.qos === 0) return;
  // v3.1.1 has no negative acknowledgement: leave it unacknowledged and close ([MQTT-3.3.5-2]).
  if (!conn.v5) return conn.close(why);
  // Only a code MQTT 5 §3.4.2.1 / §3.5.2.1 allows, and a failure: a refusal must not read as a
  // success (0x10). A substituted code says the original reason in the Reason String.
  let code = pubackReason(reason);
  if (code < 0x80) code = RC.UNSPECIFIED;
  send(conn, d, code, reasonString ?? (code === reason ? undefined : reasonName(reason)));
}

/** Turn an async failure of the authorization hook into a refusal instead of a crash. */
function settle(
  conn: Connection,
  d: DecodedPublish,
  r: Maybe<Commit | void>,
): Maybe<Commit | void> {
  if (!isPromise(r)) return r;
  return r.catch((err: unknown): Commit => {
    conn.engine.log.warn({ err, clientId: conn.clientId }, 'mqtt authorizePublish failed');
    const code = err instanceof MqttRefusal ? err.reasonCode : RC.UNSPECIFIED;
    if (!conn.v5) return () => conn.close('authorize_error');
    return () => refuse(conn, d, code, 'authorize_error');
  });
}

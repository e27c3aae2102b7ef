/** How the engine's MQTT state is written to and read from its store (decision 0020). */
import type { MqttQueuedRecord, MqttRetainedRecord, MqttSessionRecord } from '@bulwark/core';
import { createMessage } from './message.js';
import type { Message, MessageProperties } from './message.js';
import type { Pending, Session } from './session.js';

/** A session's head as stored: the principal as JSON (id, client id, opaque principal). */
export function head(s: Session): MqttSessionRecord {
  const subscriptions = [...s.subs.values()].map((x) => ({
    filter: x.raw,
    qos: x.qos,
    noLocal: x.noLocal,
    retainAsPublished: x.retainAsPublished,
    retainHandling: x.retainHandling,
    subId: x.subId,
  }));
  const { id, clientId, principal } = s.identity;
  return {
    key: s.key,
    clientId: s.clientId,
    identity: JSON.stringify({ id, ...(clientId !== undefined ? { clientId } : {}), principal }),
    expiryInterval: s.expiryInterval,
    expiresAt: s.expiresAt,
    subscriptions,
    inboundQos2: [...s.inboundQos2],
  };
}

/** A retained message as stored. */
export function retainedRecord(m: Message): MqttRetainedRecord {
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    props: encodeProps(m.props),
    expiresAt: m.expiresAt,
  };
}

/** A queued or in-flight message as stored, with its packet id and PUBREL state as of now. */
export function queuedRecord(p: Pending): MqttQueuedRecord {
  return {
    seq: p.seq,
    topic: p.msg.topic,
    payload: p.msg.payload,
    qos: p.qos as 1 | 2,
    retain: p.retain,
    props: encodeProps(p.msg.props),
    expiresAt: p.msg.expiresAt,
    subIds: p.subIds,
    packetId: p.id > 0 ? p.id : null,
    released: p.released,
  };
}

/** A stored queued message back in a session's queue (`st` 2: it is in the store). */
export function toPending(q: MqttQueuedRecord): Pending {
  return {
    msg: toMessage(q.topic, q.payload, q.qos, q.retain, q.props, q.expiresAt),
    qos: q.qos,
    retain: q.retain,
    subIds: q.subIds,
    released: q.released,
    id: q.packetId ?? 0,
    seq: q.seq,
    st: 2,
  };
}

/** A stored message back as a routed message (its absolute expiry kept). */
export function toMessage(
  topic: string,
  payload: Uint8Array,
  qos: 0 | 1 | 2,
  retain: boolean,
  props: string | null,
  expiresAt: number,
): Message {
  const m = createMessage(topic, Buffer.from(payload), qos, retain, decodeProps(props), 0, null);
  m.expiresAt = expiresAt;
  return m;
}

/** Message properties as JSON (correlation data as base64). */
export function encodeProps(p: MessageProperties | null): string | null {
  if (p === null) return null;
  const { correlationData, ...rest } = p;
  return JSON.stringify(
    correlationData !== undefined
      ? { ...rest, correlationData: correlationData.toString('base64') }
      : rest,
  );
}

/** Message properties back from JSON. */
export function decodeProps(text: string | null): MessageProperties | null {
  if (text === null) return null;
  const o = JSON.parse(text) as MessageProperties & { correlationData?: string | Buffer };
  if (typeof o.correlationData === 'string')
    o.correlationData = Buffer.from(o.correlationData, 'base64');
  return o;
}

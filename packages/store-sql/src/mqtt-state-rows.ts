/**
 * The MQTT state tables (migration 12, decision 0020) and their row mapping, the same in SQLite
 * and PostgreSQL: retained messages by topic, persistent session heads (subscriptions and inbound
 * QoS 2 ids as JSON), and each session's queue of QoS 1/2 messages in `seq` order.
 */
import type {
  MqttQueuedRecord,
  MqttRetainedRecord,
  MqttSessionRecord,
  MqttSubscriptionRecord,
} from '@bulwark/core';

/** The DDL of migration 12 in one dialect (`int`: 64-bit integer type, `blob`: bytes type). */
export function mqttStateSchema(t: { int: string; blob: string }): string {
  const { int, blob } = t;
  return `
CREATE TABLE mqtt_retained (
  topic text PRIMARY KEY,
  payload ${blob} NOT NULL,
  qos integer NOT NULL,
  props text,
  expires_at ${int} NOT NULL
);

CREATE TABLE mqtt_sessions (
  key text PRIMARY KEY,
  owner text NOT NULL,
  client_id text NOT NULL,
  identity text NOT NULL,
  expiry_interval ${int} NOT NULL,
  expires_at ${int},
  subscriptions text NOT NULL,
  inbound_qos2 text NOT NULL
);
CREATE INDEX mqtt_sessions_owner ON mqtt_sessions (owner);
CREATE INDEX mqtt_sessions_expires ON mqtt_sessions (expires_at);

CREATE TABLE mqtt_queue (
  session_key text NOT NULL,
  seq ${int} NOT NULL,
  topic text NOT NULL,
  payload ${blob} NOT NULL,
  qos integer NOT NULL,
  retain integer NOT NULL,
  props text,
  expires_at ${int} NOT NULL,
  sub_ids text,
  packet_id integer,
  released integer NOT NULL DEFAULT 0,
  PRIMARY KEY (session_key, seq)
);
`;
}

export interface MqttRetainedRow {
  topic: string;
  payload: Uint8Array;
  qos: number;
  props: string | null;
  expires_at: number;
}

export interface MqttSessionRow {
  key: string;
  owner: string;
  client_id: string;
  identity: string;
  expiry_interval: number;
  expires_at: number | null;
  subscriptions: string;
  inbound_qos2: string;
}

export interface MqttQueueRow {
  session_key: string;
  seq: number;
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: number;
  props: string | null;
  expires_at: number;
  sub_ids: string | null;
  packet_id: number | null;
  released: number;
}

export const toMqttRetained = (r: MqttRetainedRow): MqttRetainedRecord => ({
  topic: r.topic,
  payload: r.payload,
  qos: r.qos as 0 | 1 | 2,
  props: r.props,
  expiresAt: r.expires_at,
});

export const toMqttSession = (r: MqttSessionRow): MqttSessionRecord => ({
  key: r.key,
  clientId: r.client_id,
  identity: r.identity,
  expiryInterval: r.expiry_interval,
  expiresAt: r.expires_at,
  subscriptions: JSON.parse(r.subscriptions) as MqttSubscriptionRecord[],
  inboundQos2: JSON.parse(r.inbound_qos2) as number[],
});

export const toMqttQueued = (r: MqttQueueRow): MqttQueuedRecord => ({
  seq: r.seq,
  topic: r.topic,
  payload: r.payload,
  qos: r.qos as 1 | 2,
  retain: r.retain !== 0,
  props: r.props,
  expiresAt: r.expires_at,
  subIds: r.sub_ids === null ? null : (JSON.parse(r.sub_ids) as number[]),
  packetId: r.packet_id,
  released: r.released !== 0,
});

/** A session head's column values after `key, owner`, in table order. */
export const mqttSessionValues = (s: MqttSessionRecord): unknown[] => [
  s.clientId,
  s.identity,
  s.expiryInterval,
  s.expiresAt,
  JSON.stringify(s.subscriptions),
  JSON.stringify(s.inboundQos2),
];

/** A queued record's column values after `session_key`, in table order. */
export const mqttQueuedValues = (q: MqttQueuedRecord): unknown[] => [
  q.seq,
  q.topic,
  q.payload,
  q.qos,
  q.retain ? 1 : 0,
  q.props,
  q.expiresAt,
  q.subIds === null ? null : JSON.stringify(q.subIds),
  q.packetId,
  q.released ? 1 : 0,
];

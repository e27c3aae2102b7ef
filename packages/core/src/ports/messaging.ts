/**
 * Messaging records and ports: channels and who may use them, the message envelope every accepted
 * message becomes, where envelopes are stored, and the bus that carries them between hub nodes.
 */
import type { Page, PageRequest } from './records.js';

/** A named message stream of an organization. Telemetry goes to channels. */
export interface Channel {
  id: string;
  orgId: string;
  name: string;
  /** Persisted channels store every accepted message before acknowledging it. */
  persisted: boolean;
  /** Stored messages older than this are deleted; null keeps them. */
  retentionDays: number | null;
  /**
   * The payload format of messages that declare none (MQTT 3.1.1 has no content type; many
   * MQTT 5 and HTTP clients send none): e.g. `application/senml+json`, so they are parsed as SenML.
   * A message's own content type always wins. Null: undeclared payloads are opaque bytes.
   */
  contentType: string | null;
  createdAt: number;
}

/** Who is connected to a channel: a device or an application (API key), with its rights. */
export interface ChannelConnection {
  orgId: string;
  channelId: string;
  clientType: 'device' | 'api_key';
  clientId: string;
  publish: boolean;
  subscribe: boolean;
  createdAt: number;
}

/** The protocol a message arrived on. */
export type IngestProtocol = 'mqtt' | 'http' | 'coap' | 'ws' | 'gateway';

/** One resolved SenML record (RFC 8428 §4.6: base values applied, times absolute, in seconds). */
export interface SenmlRecord {
  /** Full name: base name + name. */
  n: string;
  /** Unit, if any. */
  u?: string;
  /** Exactly one of v, vs, vb, vd is set, unless only `s` is. */
  v?: number;
  vs?: string;
  vb?: boolean;
  /** Data value, base64url. */
  vd?: string;
  /** Sum. */
  s?: number;
  /** Absolute time, seconds since the epoch (may be fractional). */
  t: number;
  /** Update time hint, seconds. */
  ut?: number;
}

/** What the bus carries and storage keeps: one accepted message. */
export interface Envelope {
  /** UUIDv7, made at acceptance (orders messages of one node). */
  id: string;
  orgId: string;
  channelId: string;
  /** The part after `messages/`, '' when none. */
  subtopic: string;
  publisher: { type: 'device' | 'api_key'; id: string };
  protocol: IngestProtocol;
  contentType: string;
  /** Epoch ms at acceptance. */
  receivedAt: number;
  payload: Uint8Array;
  /** For SenML content: the resolved records. */
  senml?: SenmlRecord[];
  /** The hub node that accepted it (a node does not re-deliver its own MQTT messages from the bus). */
  origin: string;
  /** A gateway evaluated the rules on telemetry on it already (decision 0040): rules skip it. */
  ruled?: true;
}

/** A stored message (an envelope as kept) and the query over them. */
export interface MessageQuery {
  from?: number;
  to?: number;
  publisherId?: string;
  subtopic?: string;
  /** Only messages with a SenML record of this name (and, for aggregates, only that record's values). */
  senmlName?: string;
}

export type AggregateFn = 'min' | 'max' | 'avg' | 'count' | 'last';

/** One time bucket of an aggregation over SenML numeric values. */
export interface Bucket {
  /** Bucket start, epoch ms. */
  start: number;
  value: number | null;
  count: number;
}

export interface ChannelStore {
  /** @throws BulwarkError `channel_name_taken` */
  create(channel: Channel): Promise<void>;
  get(orgId: string, id: string): Promise<Channel | undefined>;
  list(orgId: string, page: PageRequest): Promise<Page<Channel>>;
  update(
    orgId: string,
    id: string,
    patch: Partial<Pick<Channel, 'name' | 'persisted' | 'retentionDays' | 'contentType'>>,
  ): Promise<Channel | undefined>;
  /** Deletes the channel, its connections and its stored messages. */
  delete(orgId: string, id: string): Promise<boolean>;
  /** Inserts or replaces the connection of (channel, client). */
  connect(conn: ChannelConnection): Promise<void>;
  disconnect(
    orgId: string,
    channelId: string,
    clientType: ChannelConnection['clientType'],
    clientId: string,
  ): Promise<boolean>;
  listConnections(orgId: string, channelId: string): Promise<ChannelConnection[]>;
  /** The connection of one client to one channel (the hot authorization lookup). */
  getConnection(
    orgId: string,
    channelId: string,
    clientType: ChannelConnection['clientType'],
    clientId: string,
  ): Promise<ChannelConnection | undefined>;
  /** Every channel a client is connected to. */
  listForClient(
    orgId: string,
    clientType: ChannelConnection['clientType'],
    clientId: string,
  ): Promise<ChannelConnection[]>;
  /** Channels with a retention period (for the retention sweeper), across organizations. */
  listWithRetention(): Promise<Channel[]>;
}

export interface MessageStore {
  /**
   * Stores envelopes in one transaction (all or none). Ids are unique; a repeated id is ignored.
   * Resolves once committed at the storage's durability (decision 0019).
   */
  appendBatch(envelopes: readonly Envelope[]): Promise<void>;
  /**
   * How many `appendBatch` calls may usefully run at once (the writer gives them disjoint
   * channels); absent means 1. An embedded, synchronous store gains nothing from more.
   */
  readonly concurrentBatches?: number;
  /** Messages of a channel, oldest first within [from, to]; the cursor is opaque. */
  query(
    orgId: string,
    channelId: string,
    q: MessageQuery,
    page: PageRequest,
  ): Promise<Page<Envelope>>;
  /**
   * Time-bucket aggregation of the numeric SenML values named `q.senmlName` (required) in
   * [from, to], buckets of `bucketMs` aligned to the epoch, empty buckets omitted.
   */
  aggregate(
    orgId: string,
    channelId: string,
    q: MessageQuery & { senmlName: string; from: number; to: number },
    bucketMs: number,
    fn: AggregateFn,
  ): Promise<Bucket[]>;
  /** Deletes a channel's messages received before `before`; returns how many. */
  deleteBefore(orgId: string, channelId: string, before: number): Promise<number>;
}

/** A subscription to the bus; call to stop receiving. */
export type Unsubscribe = () => Promise<void>;

/**
 * Carries envelopes between the parts of a hub and between hub nodes. `publish` resolves once the
 * bus has accepted the envelope (for JetStream: the server's ack), which is part of durability.
 */
export interface Bus {
  publish(envelope: Envelope): Promise<void>;
  /** Every envelope published on any node, in publish order per publisher node. */
  subscribe(handler: (envelope: Envelope) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

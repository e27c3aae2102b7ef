import {
  BulwarkError,
  subtopicProblem,
  type ConnectRequest,
  type CreateChannelRequest,
  type UpdateChannelRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents, PrincipalRef } from '../ports/events.js';
import type {
  AggregateFn,
  Bucket,
  Bus,
  Channel,
  ChannelConnection,
  Envelope,
  IngestProtocol,
  MessageQuery,
  SenmlRecord,
} from '../ports/messaging.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { thenMaybe, type Maybe } from '../shared/maybe.js';
import { BatchWriter, DEFAULT_WRITER_OPTIONS, type BatchWriterOptions } from './batch-writer.js';
import { TtlCache } from './ttl-cache.js';
import { connectionNames } from './connection-names.js';

/** A publisher or subscriber as messaging sees it. */
export interface MessagingClient {
  type: 'device' | 'api_key';
  id: string;
  orgId: string;
}

/** Turns a payload into SenML records (throws `senml_invalid`), or undefined for other content. */
export type PayloadNormalizer = (
  contentType: string,
  payload: Uint8Array,
  nowMs: number,
) => SenmlRecord[] | undefined;

/** Limits and tunables of messaging. */
export interface MessagingConfig {
  /** Largest accepted payload (MQTT, HTTP and CoAP alike). */
  maxPayloadBytes: number;
  writer: BatchWriterOptions;
  /** How long authorization lookups are cached (changes on other nodes show within this). */
  authCacheMs: number;
}

export const DEFAULT_MESSAGING_CONFIG: MessagingConfig = {
  maxPayloadBytes: 256 * 1024,
  writer: DEFAULT_WRITER_OPTIONS,
  authCacheMs: 5_000,
};

/** What a message to ingest says. */
/** The content type of a message that declares none, on a channel without a payload format. */
export const UNDECLARED_CONTENT_TYPE = 'application/octet-stream';

export interface Inbound {
  channelId: string;
  subtopic: string;
  /** What the message declares; undefined when it declares nothing (the channel's format applies). */
  contentType: string | undefined;
  payload: Uint8Array;
  protocol: IngestProtocol;
  /**
   * Accepted elsewhere first (a gateway, decision 0040): the id and time it was given there. The
   * stores skip an id they hold, so a message forwarded twice after a reconnect is stored once.
   */
  accepted?: { id: string; at: number };
  /** The gateway that accepted it evaluated the site's rules on it (decision 0040). */
  ruled?: true;
}

/**
 * Channels, who may use them, and the one ingest path every protocol uses: authorize, check size,
 * normalize SenML, store (for persisted channels, before the caller acknowledges), publish on the
 * bus. Nothing downstream talks to a protocol adapter.
 */
export class MessagingService {
  readonly writer: BatchWriter;
  /** Messages inside `ingest` not yet handed to the writer (see `backpressure`). */
  #entering = 0;
  readonly #channels: TtlCache<Channel | null>;
  readonly #conns: TtlCache<ChannelConnection | null>;

  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      bus: Bus;
      nodeId: string;
      normalize: PayloadNormalizer;
      config: MessagingConfig;
      onBatch?: (batch: { rows: number; ms: number; error?: unknown }) => void;
      /** Told about every ingest: accepted, or refused with its error code. */
      onIngest?: (protocol: IngestProtocol, outcome: string) => void;
      /** Told about every accepted message, with its publisher (the detection engine counts them). */
      onAccepted?: (client: MessagingClient, bytes: number) => void;
      /** Told about changed rights: live subscriptions are authorized again on every node. */
      events?: DomainEvents;
    },
  ) {
    this.writer = new BatchWriter(d.storage.messages, d.config.writer, d.onBatch);
    const now = () => d.clock.now();
    this.#channels = new TtlCache(d.config.authCacheMs, 10_000, now);
    this.#conns = new TtlCache(d.config.authCacheMs, 100_000, now);
  }

  // ---- channels ------------------------------------------------------------------------------

  /** Creates a channel (persisted by default). */
  async createChannel(orgId: string, req: CreateChannelRequest): Promise<Channel> {
    const now = this.d.clock.now();
    const channel: Channel = {
      id: newId(now),
      orgId,
      name: req.name,
      persisted: req.persisted ?? true,
      retentionDays: req.retentionDays ?? null,
      contentType: req.contentType ?? null,
      createdAt: now,
    };
    await this.d.storage.channels.create(channel);
    return channel;
  }

  /** One channel of the organization, or not_found. */
  async getChannel(orgId: string, id: string): Promise<Channel> {
    const c = await this.d.storage.channels.get(orgId, id);
    if (!c) throw new BulwarkError('not_found', 'no such channel in this organization');
    return c;
  }

  /** The organization's channels. */
  listChannels(orgId: string, page: PageRequest): Promise<Page<Channel>> {
    return this.d.storage.channels.list(orgId, page);
  }

  /** Renames a channel or changes whether and how long it stores messages. */
  async updateChannel(orgId: string, id: string, req: UpdateChannelRequest): Promise<Channel> {
    const patch: Partial<Pick<Channel, 'name' | 'persisted' | 'retentionDays' | 'contentType'>> =
      {};
    if (req.name !== undefined) patch.name = req.name;
    if (req.persisted !== undefined) patch.persisted = req.persisted;
    if (req.retentionDays !== undefined) patch.retentionDays = req.retentionDays;
    if (req.contentType !== undefined) patch.contentType = req.contentType;
    const c = await this.d.storage.channels.update(orgId, id, patch);
    if (!c) throw new BulwarkError('not_found', 'no such channel in this organization');
    this.#channels.delete(id);
    return c;
  }

  /** Deletes a channel with its connections and stored messages. */
  async deleteChannel(orgId: string, id: string): Promise<void> {
    if (!(await this.d.storage.channels.delete(orgId, id)))
      throw new BulwarkError('not_found', 'no such channel in this organization');
    this.#changed(orgId, id, null);
  }

  /** Connects a device or API key of the organization to a channel with publish/subscribe rights. */
  async connect(orgId: string, channelId: string, req: ConnectRequest): Promise<ChannelConnection> {
    await this.getChannel(orgId, channelId);
    const exists =
      req.clientType === 'device'
        ? await this.d.storage.devices.get(orgId, req.clientId)
        : (await this.d.storage.apiKeys.get(req.clientId))?.orgId === orgId;
    if (!exists)
      throw new BulwarkError(
        'not_found',
        `no such ${req.clientType === 'device' ? 'device' : 'API key'} in this organization`,
      );
    const conn: ChannelConnection = { orgId, channelId, ...req, createdAt: this.d.clock.now() };
    await this.d.storage.channels.connect(conn);
    // A connection may be replaced with fewer rights than before.
    this.#changed(orgId, channelId, { type: req.clientType, id: req.clientId });
    return conn;
  }

  /** Removes a client's rights on a channel. */
  async disconnect(
    orgId: string,
    channelId: string,
    clientType: ChannelConnection['clientType'],
    clientId: string,
  ): Promise<void> {
    if (!(await this.d.storage.channels.disconnect(orgId, channelId, clientType, clientId))) {
      throw new BulwarkError('not_found', 'no such connection');
    }
    this.#changed(orgId, channelId, { type: clientType, id: clientId });
  }

  /**
   * Forgets the cached rights on a channel (of one client, or everyone's with null): an access
   * change made on another node must not wait for the cache to expire.
   */
  forgetRights(channelId: string, client: PrincipalRef | null): void {
    if (client === null) {
      this.#channels.delete(channelId);
      this.#conns.deletePrefix(`${channelId}|`);
    } else this.#conns.delete(`${channelId}|${client.type}|${client.id}`);
  }

  #changed(orgId: string, channelId: string, client: PrincipalRef | null): void {
    this.forgetRights(channelId, client);
    this.d.events?.emit({
      type: 'channel.access_changed',
      orgId,
      at: this.d.clock.now(),
      channelId,
      client,
    });
  }

  /**
   * Removes every channel right of a client (a decommissioned device keeps none); each goes
   * through `disconnect`, so whatever a removal does, it does here too. Returns how many.
   */
  async disconnectClient(
    orgId: string,
    clientType: ChannelConnection['clientType'],
    clientId: string,
  ): Promise<number> {
    let n = 0;
    for (const c of await this.d.storage.channels.listForClient(orgId, clientType, clientId)) {
      try {
        await this.disconnect(orgId, c.channelId, clientType, clientId);
        n++;
      } catch (err) {
        // Removed meanwhile (the channel was deleted, or a concurrent call): already gone.
        if (!(err instanceof BulwarkError && err.code === 'not_found')) throw err;
      }
    }
    return n;
  }

  /** Who is connected to a channel. */
  async listConnections(orgId: string, channelId: string): Promise<ChannelConnection[]> {
    await this.getChannel(orgId, channelId);
    return this.d.storage.channels.listConnections(orgId, channelId);
  }

  /** `listConnections`, each with its client's name (null once the client is gone). */
  async listConnectionsNamed(
    orgId: string,
    channelId: string,
  ): Promise<(ChannelConnection & { clientName: string | null })[]> {
    const conns = await this.listConnections(orgId, channelId);
    const names = await connectionNames(this.d.storage, orgId, conns);
    return conns.map((c) => ({
      ...c,
      clientName: names.get(`${c.clientType}/${c.clientId}`) ?? null,
    }));
  }

  // ---- authorization (hot path) ----------------------------------------------------------------

  // Answered synchronously from the caches (the usual case: every message asks), as a promise
  // only when a lookup has to read the store.
  #channel(client: MessagingClient, channelId: string): Maybe<Channel | null> {
    // Cache only hits keyed by id (a miss may be another tenant's channel); lookups in flight
    // are shared per organization, so a burst of first messages makes one query.
    const c = this.#channels.load(
      channelId,
      async () => (await this.d.storage.channels.get(client.orgId, channelId)) ?? null,
      { keep: (found) => found !== null, flightKey: `${client.orgId}|${channelId}` },
    );
    return thenMaybe(c, (found) => (found && found.orgId === client.orgId ? found : null));
  }

  #connection(client: MessagingClient, channelId: string): Maybe<ChannelConnection | null> {
    const key = `${channelId}|${client.type}|${client.id}`;
    return this.#conns.load(
      key,
      async () =>
        (await this.d.storage.channels.getConnection(
          client.orgId,
          channelId,
          client.type,
          client.id,
        )) ?? null,
    );
  }

  /** The channel when the client holds `right` on it (another tenant's channel is null). */
  #rightOn(
    client: MessagingClient,
    channelId: string,
    right: 'publish' | 'subscribe',
  ): Maybe<Channel | null> {
    return thenMaybe(this.#channel(client, channelId), (channel) =>
      channel === null
        ? null
        : thenMaybe(this.#connection(client, channelId), (conn) =>
            conn?.[right] === true ? channel : null,
          ),
    );
  }

  /** May the client publish to the channel? (Another tenant's channel is simply "no".) */
  canPublish(client: MessagingClient, channelId: string): Maybe<boolean> {
    return thenMaybe(this.#rightOn(client, channelId, 'publish'), (c) => c !== null);
  }

  /** May the client subscribe to the channel? */
  canSubscribe(client: MessagingClient, channelId: string): Maybe<boolean> {
    return thenMaybe(this.#rightOn(client, channelId, 'subscribe'), (c) => c !== null);
  }

  // ---- ingest ----------------------------------------------------------------------------------

  /**
   * Accepts one message: refuses it visibly (not_authorized, payload_too_large, senml_invalid,
   * quota_exceeded) or returns its envelope once it is stored (persisted channels) and on the bus.
   */
  ingest(client: MessagingClient, m: Inbound): Promise<Envelope> {
    // Counted from the first (synchronous) step until the writer holds it or it is refused, so
    // backpressure sees a burst handed over in one turn before any of it reaches the writer.
    const entry = { counted: true };
    this.#entering++;
    let p: Promise<Envelope>;
    try {
      // The one subtopic rule for every protocol (protocol/topics.ts), before anything is read.
      const bad = subtopicProblem(m.subtopic);
      if (bad !== undefined) throw new BulwarkError('topic_invalid', bad);
      const r = thenMaybe(this.#rightOn(client, m.channelId, 'publish'), (channel) =>
        this.#accept(client, m, channel, entry),
      );
      p = r instanceof Promise ? r : Promise.resolve(r);
    } catch (err) {
      p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return p.then(
      (envelope) => {
        if (entry.counted) this.#entering--;
        this.d.onIngest?.(m.protocol, 'accepted');
        this.d.onAccepted?.(client, m.payload.length);
        return envelope;
      },
      (err: unknown) => {
        if (entry.counted) this.#entering--;
        this.d.onIngest?.(m.protocol, err instanceof BulwarkError ? err.code : 'internal_error');
        throw err;
      },
    );
  }

  /** Checks and normalizes an authorized (or not) message, then stores and publishes it. */
  #accept(
    client: MessagingClient,
    m: Inbound,
    channel: Channel | null,
    entry: { counted: boolean },
  ): Promise<Envelope> {
    if (channel === null) {
      throw new BulwarkError('not_authorized', 'the client may not publish to this channel');
    }
    if (m.payload.length > this.d.config.maxPayloadBytes) {
      throw new BulwarkError(
        'payload_too_large',
        `the payload has ${m.payload.length} bytes; the limit is ${this.d.config.maxPayloadBytes}`,
      );
    }
    const now = this.d.clock.now();
    // A message that declares no content type takes its channel's payload format.
    const contentType = m.contentType ?? channel.contentType ?? UNDECLARED_CONTENT_TYPE;
    const senml = this.d.normalize(contentType, m.payload, now);
    const envelope: Envelope = {
      id: m.accepted?.id ?? newId(now),
      orgId: client.orgId,
      channelId: m.channelId,
      subtopic: m.subtopic,
      publisher: { type: client.type, id: client.id },
      protocol: m.protocol,
      contentType,
      receivedAt: m.accepted?.at ?? now,
      payload: m.payload,
      ...(senml ? { senml } : {}),
      origin: this.d.nodeId,
      ...(m.ruled ? { ruled: true as const } : {}),
    };
    entry.counted = false;
    this.#entering--;
    const publish = () => this.d.bus.publish(envelope).then(() => envelope);
    return channel.persisted ? this.writer.write(envelope).then(publish) : publish();
  }

  // ---- queries and retention ---------------------------------------------------------------------

  /** Stored messages of a channel. */
  async query(
    orgId: string,
    channelId: string,
    q: MessageQuery,
    page: PageRequest,
  ): Promise<Page<Envelope>> {
    await this.getChannel(orgId, channelId);
    return this.d.storage.messages.query(orgId, channelId, q, page);
  }

  /** Time-bucket aggregation of a SenML value. */
  async aggregate(
    orgId: string,
    channelId: string,
    q: MessageQuery & { senmlName: string; from: number; to: number },
    bucketMs: number,
    fn: AggregateFn,
  ): Promise<Bucket[]> {
    await this.getChannel(orgId, channelId);
    if (q.to < q.from) throw new BulwarkError('validation_failed', '`to` is before `from`');
    if (!Number.isInteger(bucketMs) || bucketMs < 1000)
      throw new BulwarkError('validation_failed', 'the bucket must be a whole number of seconds');
    // Bound the answer: at most 10,000 buckets per query.
    if ((q.to - q.from) / bucketMs > 10_000)
      throw new BulwarkError(
        'validation_failed',
        'too many buckets: widen the bucket or narrow the range',
      );
    return this.d.storage.messages.aggregate(orgId, channelId, q, bucketMs, fn);
  }

  /** Deletes messages past each channel's retention; returns how many. */
  async sweepRetention(): Promise<number> {
    let n = 0;
    const now = this.d.clock.now();
    for (const c of await this.d.storage.channels.listWithRetention()) {
      if (c.retentionDays !== null)
        n += await this.d.storage.messages.deleteBefore(
          c.orgId,
          c.id,
          now - c.retentionDays * 86_400_000,
        );
    }
    return n;
  }

  /**
   * Storage backpressure for transports that can stop reading (MQTT): undefined while the writer
   * keeps up, else a promise that settles once it has caught up (`BatchWriter.pressure`).
   */
  backpressure(): Promise<void> | undefined {
    return this.writer.pressure(this.#entering);
  }

  /** Flushes the writer (on shutdown). */
  close(): Promise<void> {
    return this.writer.close();
  }
}

/**
 * The scale-out Bus on NATS JetStream: every hub node publishes into one stream and reads all of
 * it through its own ordered consumer, so each node sees every envelope (fan-out), in publish
 * order per publishing node. Within a node, envelopes fan out to handlers through the in-process
 * bus, which brings its ordering, error isolation and backpressure.
 */
import { BulwarkError } from '@bulwark/protocol';
import { createMemoryBus, type Bus, type Envelope, type Unsubscribe } from '@bulwark/core';
import {
  ClosedConnectionError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/transport-node';
import {
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { assertSubjectPrefix, decodeEnvelope, encodeEnvelope } from './codec.js';
import { ensureStream } from './stream.js';
import { connectNats, redactServers, serverList, type NatsConnectOptions } from './connection.js';

/** Options of createNatsBus. */
export interface NatsBusOptions extends NatsConnectOptions {
  /** JetStream stream name (default `BULWARK_MESSAGES`). */
  stream?: string;
  /** Subject prefix; envelopes go to `<prefix>.<orgId>.<channelId>` (default `bulwark.msg`). */
  subjectPrefix?: string;
  /** How long the stream keeps messages, s (default 24 h): a buffer for lagging nodes. */
  maxAgeSeconds?: number;
  /** Window for deduplicating a retried publish by envelope id, s (default 120). */
  duplicateWindowSeconds?: number;
  /** Stream replicas in a NATS cluster (default 1; use 3 in production clusters). */
  replicas?: number;
  /** How long `publish` waits for JetStream's acknowledgement, ms (default 5,000). */
  publishTimeoutMs?: number;
  /** Told about failing handlers, undecodable messages and consumer trouble (default: console). */
  onError?: (err: unknown, envelope?: Envelope) => void;
}

/** Default stream name. */
export const DEFAULT_STREAM = 'BULWARK_MESSAGES';
/** Default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = 'bulwark.msg';
/** Default maximum age: a day covers a node's restart or upgrade; storage is the archive. */
export const DEFAULT_MAX_AGE_SECONDS = 24 * 60 * 60;
/** Default duplicate window: longer than any client's publish retry loop. */
const DEFAULT_DUPLICATE_WINDOW_SECONDS = 120;
const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
/**
 * Envelopes a node buffers per local handler. Small: JetStream holds the backlog, and a full local
 * queue simply stops this node's pulls until the handler catches up.
 */
const LOCAL_QUEUE = 1_024;
/** Messages requested per pull; the client asks for more at 75 % consumed. */
const PULL_BATCH = 256;

/** The running consumer of a node. */
interface Running {
  consumer: Consumer;
  messages: ConsumerMessages;
  loop: Promise<void>;
  stopping: boolean;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Connects to NATS, ensures the stream (see `ensureStream`) and returns the node's Bus. Rejects
 * with a BulwarkError `unavailable` when NATS or JetStream cannot be reached.
 */
export async function createNatsBus(opts: NatsBusOptions): Promise<Bus> {
  const stream = opts.stream ?? DEFAULT_STREAM;
  const prefix = opts.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  assertSubjectPrefix(prefix);
  const publishTimeoutMs = opts.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const where = redactServers(serverList(opts.servers));
  const nc: NatsConnection = await connectNats(
    { ...opts, name: opts.name ?? 'bulwark-hub' },
    'bus-nats',
  );
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
    await ensureStream(jsm, {
      name: stream,
      subjectPrefix: prefix,
      maxAgeSeconds: opts.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS,
      duplicateWindowSeconds: opts.duplicateWindowSeconds ?? DEFAULT_DUPLICATE_WINDOW_SECONDS,
      replicas: opts.replicas ?? 1,
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new BulwarkError(
      'unavailable',
      `bus-nats: cannot set up JetStream stream ${stream} at ${where}: ${messageOf(err)}`,
      { cause: err },
    );
  }
  const js = jetstream(nc, { timeout: publishTimeoutMs });

  const onError =
    opts.onError ??
    ((err: unknown, envelope?: Envelope) => {
      const about = envelope === undefined ? '' : ` (envelope ${envelope.id})`;
      console.error(`bulwark: NATS bus${about}:`, err);
    });
  const report = (err: unknown, envelope?: Envelope): void => {
    try {
      onError(err, envelope);
    } catch {
      // A failing reporter must not stop the consumer.
    }
  };

  const local = createMemoryBus({ maxQueue: LOCAL_QUEUE, onError: report });
  const inflight = new Set<Promise<unknown>>();
  let running: Running | undefined;
  let localSubscribers = 0;
  let closed = false;
  let closing: Promise<void> | undefined;
  // Starting and stopping the consumer are serialised so subscribe/unsubscribe races stay simple.
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const closedError = (): BulwarkError =>
    new BulwarkError('unavailable', 'bus-nats: the bus is closed');

  void nc.closed().then((err) => {
    if (!closed && err)
      report(
        new BulwarkError('unavailable', `bus-nats: connection lost: ${err.message}`, {
          cause: err,
        }),
      );
  });

  /** Explains a failed publish; the envelope was not accepted and must not be acknowledged. */
  const publishError = (err: unknown, e: Envelope, subject: string): BulwarkError => {
    let why: string;
    if (err instanceof TimeoutError) {
      why = `no acknowledgement from JetStream within ${publishTimeoutMs} ms (NATS unreachable?)`;
    } else if (
      (err instanceof Error && err.name === 'JetStreamNotEnabled') ||
      (err instanceof RequestError && err.isNoResponders())
    ) {
      why = `no JetStream stream answered for ${subject} (is stream ${stream} missing?)`;
    } else if (err instanceof ClosedConnectionError) {
      why = 'the NATS connection is closed';
    } else if (err instanceof JetStreamApiError) {
      why = `JetStream refused it: ${err.message}`;
    } else {
      why = messageOf(err);
    }
    return new BulwarkError('unavailable', `bus-nats: envelope ${e.id} was not accepted: ${why}`, {
      cause: err,
    });
  };

  const startConsumer = async (): Promise<Running> => {
    // Start right after the stream's last message, by sequence. DeliverPolicy.New would do the
    // same at first, but the ordered consumer then recreates itself after a reconnect from the
    // sequence it last saw (none yet: 0) and would replay the whole stream.
    const info = await jsm.streams.info(stream);
    const consumer = await js.consumers.get(stream, { opt_start_seq: info.state.last_seq + 1 });
    const messages = await consumer.consume({ max_messages: PULL_BATCH });
    const r: Running = { consumer, messages, loop: Promise.resolve(), stopping: false };
    r.loop = (async () => {
      for await (const m of messages) {
        if (r.stopping) continue; // drain what the client buffered, deliver none of it
        let envelope: Envelope;
        try {
          envelope = decodeEnvelope(prefix, m.subject, m.headers, m.data);
        } catch (err) {
          report(err);
          continue;
        }
        try {
          // Waits while a local handler's queue is full: the pulls stop, JetStream keeps the rest.
          await local.publish(envelope);
        } catch (err) {
          if (!r.stopping && !closed) report(err, envelope);
        }
      }
    })().catch((err: unknown) => {
      if (!r.stopping) {
        report(
          new BulwarkError('unavailable', `bus-nats: the consumer of ${stream} stopped`, {
            cause: err,
          }),
        );
      }
    });
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'stream_not_found') {
          report(
            new BulwarkError('unavailable', `bus-nats: stream ${stream} is missing; retrying`),
          );
        }
      }
    })().catch(() => undefined);
    return r;
  };

  const stopConsumer = async (r: Running): Promise<void> => {
    r.stopping = true;
    await r.messages.close().catch(() => undefined);
    await r.loop;
    // The ordered consumer is ephemeral and would expire anyway; deleting it frees it now.
    await r.consumer.delete().catch(() => undefined);
  };

  return {
    async publish(e) {
      if (closed) throw closedError();
      const { subject, headers, data } = encodeEnvelope(prefix, e);
      const acked = js.publish(subject, data, {
        // [JetStream deduplication] a retry after a lost ack carries the same id and is dropped.
        msgID: e.id,
        headers,
        timeout: publishTimeoutMs,
        // Refuse to count an ack from some other stream that happens to capture the subject.
        expect: { streamName: stream },
      });
      inflight.add(acked);
      try {
        // A duplicate ack (same id within the window) means the envelope is already accepted.
        await acked;
      } catch (err) {
        throw publishError(err, e, subject);
      } finally {
        inflight.delete(acked);
      }
    },

    subscribe(handler) {
      return serialize(async () => {
        if (closed) throw closedError();
        running ??= await startConsumer();
        const unsubscribeLocal = await local.subscribe(handler);
        localSubscribers++;
        let done = false;
        const unsubscribe: Unsubscribe = () =>
          serialize(async () => {
            if (done) return;
            done = true;
            await unsubscribeLocal();
            localSubscribers--;
            if (localSubscribers === 0 && running !== undefined) {
              const r = running;
              running = undefined;
              await stopConsumer(r);
            }
          });
        return unsubscribe;
      });
    },

    close() {
      closing ??= (async () => {
        closed = true;
        await Promise.allSettled([...inflight]);
        await local.close(); // stops delivery now and frees a consumer waiting for room
        await serialize(async () => {
          if (running !== undefined) {
            const r = running;
            running = undefined;
            await stopConsumer(r);
          }
        });
        await nc.drain().catch(() => nc.close());
      })();
      return closing;
    },
  };
}

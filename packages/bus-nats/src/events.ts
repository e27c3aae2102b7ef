/**
 * The domain-events port across a cluster, on NATS JetStream: a node's events are delivered to its
 * own listeners at once (in-process) and published into one stream, which every node reads with
 * its own ordered consumer and hands to its listeners — so an access change made on node A cuts
 * the live sessions on node B within a round trip. The stream is a short buffer (an hour), not an
 * archive; a node reconnecting after a NATS outage resumes where its consumer stopped, and the
 * hub's revocation sweep covers anything older.
 */
import { BulwarkError } from '@bulwark/protocol';
import { createMemoryEvents, type DomainEvent, type DomainEvents } from '@bulwark/core';
import { jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { ensureStream } from './stream.js';
import { connectNats, type NatsConnectOptions } from './connection.js';

/** Options of createNatsEvents. */
export interface NatsEventsOptions extends NatsConnectOptions {
  /** This node's id: stamped on its events, and its own events are not delivered twice. */
  nodeId: string;
  /** JetStream stream name (default `BULWARK_EVENTS`). */
  stream?: string;
  /** Subject prefix; events go to `<prefix>.<type>` (default `bulwark.evt`). */
  subjectPrefix?: string;
  /** Stream replicas in a NATS cluster (default 1). */
  replicas?: number;
  /** Told about publish failures, undecodable messages and failing listeners. */
  onError?: (err: unknown) => void;
}

export const DEFAULT_EVENTS_STREAM = 'BULWARK_EVENTS';
export const DEFAULT_EVENTS_PREFIX = 'bulwark.evt';
/** An hour: longer than any reconnect; older access changes are the sweep's to find. */
const MAX_AGE_SECONDS = 3600;
const PUBLISH_TIMEOUT_MS = 5_000;

/** Connects, ensures the stream, starts this node's consumer and returns the events port. */
export async function createNatsEvents(opts: NatsEventsOptions): Promise<DomainEvents> {
  const stream = opts.stream ?? DEFAULT_EVENTS_STREAM;
  const prefix = opts.subjectPrefix ?? DEFAULT_EVENTS_PREFIX;
  const report = (err: unknown) => {
    try {
      (opts.onError ?? ((e: unknown) => console.error('bulwark: NATS events:', e)))(err);
    } catch {
      // a failing reporter must not stop the consumer
    }
  };
  const nc = await connectNats({ ...opts, name: `bulwark-events-${opts.nodeId}` }, 'events');
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, {
    name: stream,
    subjectPrefix: prefix,
    maxAgeSeconds: MAX_AGE_SECONDS,
    duplicateWindowSeconds: 120,
    replicas: opts.replicas ?? 1,
  });
  const js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
  const local = createMemoryEvents({ nodeId: opts.nodeId, onError: report });

  // Start after the stream's last message: a node wants the changes from now on.
  const info = await jsm.streams.info(stream);
  const consumer = await js.consumers.get(stream, { opt_start_seq: info.state.last_seq + 1 });
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  let stopping = false;
  const loop = (async () => {
    for await (const m of messages) {
      if (stopping) continue;
      let e: DomainEvent;
      try {
        e = m.json<DomainEvent>();
      } catch (err) {
        report(err);
        continue;
      }
      if (e.origin !== opts.nodeId) local.deliver(e);
    }
  })().catch((err: unknown) => {
    if (!stopping) report(err);
  });

  const inflight = new Set<Promise<unknown>>();
  return {
    emit(event) {
      const e: DomainEvent = { ...event, origin: opts.nodeId };
      local.deliver(e);
      const p = js
        .publish(`${prefix}.${e.type}`, JSON.stringify(e), { timeout: PUBLISH_TIMEOUT_MS })
        .catch((err: unknown) =>
          report(
            new BulwarkError('unavailable', `events: ${e.type} did not reach the cluster`, {
              cause: err,
            }),
          ),
        );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    listen: (l) => local.listen(l),
    async flush() {
      await Promise.allSettled([...inflight]);
      await local.flush();
    },
    async close() {
      await Promise.allSettled([...inflight]);
      stopping = true;
      await messages.close().catch(() => undefined);
      await loop;
      await consumer.delete().catch(() => undefined);
      await local.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}

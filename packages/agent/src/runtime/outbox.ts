/**
 * The outbox: everything the agent sends up to the hub except metrics. Telemetry (`publish`) and
 * management messages (reported twin, command statuses, events) are queued durably in two
 * DiskQueues; the send pump drains them over the link, control first, a window at a time, and
 * removes an entry only after its PUBACK. It also owns the events kept in memory (no identity
 * yet, or the disk refused them), refusal counting with rate-limited refusal events, and the
 * send counters.
 */
import {
  channelTopic,
  deviceTopic,
  hasWildcard,
  type DeviceEvent,
  type TwinValue,
} from '@bulwark/protocol';
import type { AgentConfig } from '../config.js';
import { LogBuffer } from '../logs/log-buffer.js';
import type { AgentClock, AgentFiles } from '../ports.js';
import type { Link } from './link.js';
import { DiskQueue, QueueFullError, type QueueEntry } from './queue.js';

/** Errors `publish` rejects with carry one of these codes. */
export type PublishErrorCode = 'queue_full' | 'disk_full' | 'invalid_topic' | 'not_enrolled';

/** What the outbox works with. */
export interface OutboxDeps {
  config: AgentConfig;
  files: AgentFiles;
  clock: AgentClock;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  deviceId(): string | undefined;
  /** The current link, if any (sent over only while connected). */
  link(): Link | undefined;
  /** Something was queued: pump now, or bring the link up. */
  demand(): void;
  /** Traffic moved (keeps a periodic / on-demand link from idling out). */
  touch(): void;
  /** Records an event (the agent's `report`). */
  report(event: DeviceEvent): void;
  /** A pump round ended. */
  drained(): void;
}

const enc = new TextEncoder();
/** Management messages (reports, statuses, events) are small; these bounds hold days of them. */
const CONTROL_LIMITS = {
  maxMessages: 10_000,
  maxBytes: 8 * 1024 * 1024,
  overflow: 'drop-oldest',
} as const;
/** Messages in flight per pump round: enough to fill a link, few enough to bound memory. */
const WINDOW = 32;
/** Events kept in memory while the disk refuses them (full disk). */
const MEMORY_EVENTS_MAX = 100;
/** Refusal events (overflow, full disk) are coalesced to one a minute, with running counts. */
const REFUSAL_EVENT_EVERY_MS = 60_000;

const perr = (code: PublishErrorCode, message: string) =>
  Object.assign(new Error(message), { code });

/** A device event stamped with the agent clock. */
export function deviceEvent(
  clock: AgentClock,
  kind: string,
  severity: DeviceEvent['severity'],
  detail: DeviceEvent['detail'],
): DeviceEvent {
  return { kind, severity, at: new Date(clock.now()).toISOString(), detail };
}

/** The agent's queues and the pump that sends them. */
export class Outbox {
  /** Whether a pump round is running. */
  pumping = false;
  readonly counters = { dropped: 0, refusedFull: 0, refusedDisk: 0, sent: 0 };
  private telemetry!: DiskQueue;
  private control!: DiskQueue;
  /** Log batches (decision 0032): sent after control and telemetry. */
  logs: LogBuffer | undefined;
  private pumpAgain = false;
  private memoryEvents: DeviceEvent[] = [];
  private readonly refusals = new Map<string, { count: number; lastEventAt: number }>();

  constructor(private readonly deps: OutboxDeps) {}

  /** Opens (or reopens, after a wipe) both queues; returns how many corrupt entries were removed. */
  async open(): Promise<number> {
    const t = await DiskQueue.open(this.deps.files, 'queue/telemetry/', this.deps.config.queue);
    const c = await DiskQueue.open(this.deps.files, 'queue/control/', CONTROL_LIMITS);
    const l = await LogBuffer.open(this.deps.files, this.deps.config.logs.buffer, () => {
      const id = this.deps.deviceId();
      return id === undefined ? undefined : deviceTopic.logs(id);
    });
    this.telemetry = t.queue;
    this.control = c.queue;
    this.logs = l.buffer;
    return t.corrupt + c.corrupt + l.corrupt;
  }

  /** Forgets the events kept in memory (factory reset). */
  clearMemoryEvents(): void {
    this.memoryEvents = [];
  }

  /** Queue depths (zero before the queues are open). */
  sizes(): {
    telemetry: { messages: number; bytes: number };
    control: { messages: number; bytes: number };
    logs: { batches: number; bytes: number; droppedRecords: number };
  } {
    return {
      telemetry: { messages: this.telemetry?.length ?? 0, bytes: this.telemetry?.sizeBytes ?? 0 },
      control: { messages: this.control?.length ?? 0, bytes: this.control?.sizeBytes ?? 0 },
      logs: {
        batches: this.logs?.length ?? 0,
        bytes: this.logs?.sizeBytes ?? 0,
        droppedRecords: this.logs?.droppedTotal ?? 0,
      },
    };
  }

  /**
   * Messages and events waiting to be sent. Log batches are not counted: they ride along when the
   * link is up and never keep an on-demand link up by themselves.
   */
  get pending(): number {
    return this.telemetry.length + this.control.length + this.memoryEvents.length;
  }

  private get connected(): boolean {
    return this.deps.link()?.connected ?? false;
  }

  /** Queues one telemetry message (see `Agent.publish`). */
  async publish(
    channelId: string,
    subtopic: string,
    payload: Uint8Array | string,
    contentType: string,
  ): Promise<void> {
    if (!/^[0-9a-f-]{36}$/.test(channelId) || hasWildcard(subtopic) || subtopic.startsWith('/'))
      throw perr('invalid_topic', `invalid channel ${channelId} or subtopic ${subtopic}`);
    const bytes = typeof payload === 'string' ? enc.encode(payload) : payload;
    try {
      const r = await this.telemetry.push({
        topic: channelTopic(channelId, subtopic),
        payload: bytes,
        contentType,
        qos: 1,
        at: this.deps.clock.now(),
      });
      if (r.dropped > 0) {
        this.counters.dropped += r.dropped;
        this.refused('queue-overflow', r.dropped, { policy: 'drop-oldest' });
      }
    } catch (err) {
      if (err instanceof QueueFullError) {
        this.counters.refusedFull++;
        this.refused('queue-overflow', 1, { policy: this.deps.config.queue.overflow });
        throw perr('queue_full', err.message);
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        this.counters.refusedDisk++;
        this.refused('telemetry-refused', 1, { reason: 'disk-full' });
        throw perr('disk_full', 'the device disk is full: telemetry refused');
      }
      throw err;
    }
    this.deps.demand();
  }

  /** Queues an event for the hub; without an identity or open queues (or a refusing disk) it waits in memory. */
  queueEvent(event: DeviceEvent): void {
    const id = this.deps.deviceId();
    if (id === undefined || this.control === undefined) {
      this.pushMemoryEvent(event);
      return;
    }
    this.pushControl(deviceTopic.events(id), [event]).then(
      () => this.deps.demand(),
      () => this.pushMemoryEvent(event),
    );
  }

  /** Queues one management message (JSON) on the control queue. */
  sendControl(topic: string, body: unknown): Promise<void> {
    return this.pushControl(topic, body).then(() => this.deps.demand());
  }

  private pushControl(topic: string, body: unknown): Promise<unknown> {
    return this.control.push({
      topic,
      payload: enc.encode(JSON.stringify(body)),
      contentType: 'application/json',
      qos: 1,
      at: this.deps.clock.now(),
    });
  }

  private pushMemoryEvent(e: DeviceEvent): void {
    this.memoryEvents.push(e);
    if (this.memoryEvents.length > MEMORY_EVENTS_MAX) this.memoryEvents.shift();
  }

  /** Counts a refusal and reports it, at most one event a minute per kind with the running total. */
  private refused(kind: string, n: number, detail: { [k: string]: TwinValue }): void {
    const r = this.refusals.get(kind) ?? { count: 0, lastEventAt: -Infinity };
    r.count += n;
    this.refusals.set(kind, r);
    const now = this.deps.clock.now();
    if (now - r.lastEventAt < REFUSAL_EVENT_EVERY_MS) return;
    r.lastEventAt = now;
    this.deps.report(deviceEvent(this.deps.clock, kind, 'warning', { ...detail, count: r.count }));
  }

  /**
   * Sends what is queued, control messages first, each queue in order, a window at a time; an
   * entry is removed only after its PUBACK. A failure (the link dropped) stops the round; what
   * was not acknowledged is sent again on the next connection.
   */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          while (this.connected) {
            const link = this.deps.link()!;
            const deviceId = this.deps.deviceId();
            if (this.memoryEvents.length > 0 && deviceId !== undefined) {
              const events = this.memoryEvents.splice(0);
              await link
                .publish(deviceTopic.events(deviceId), enc.encode(JSON.stringify(events)), {
                  qos: 1,
                })
                .catch(() => this.memoryEvents.unshift(...events));
            }
            let q: Pick<DiskQueue, 'peek' | 'ack'> = this.control;
            let batch: QueueEntry[] = await q.peek(WINDOW);
            if (batch.length === 0) {
              q = this.telemetry;
              batch = await q.peek(WINDOW);
            }
            if (batch.length === 0 && this.logs !== undefined) {
              q = this.logs;
              batch = await q.peek(WINDOW);
            }
            if (batch.length === 0) break;
            const results = await Promise.allSettled(
              batch.map((e) =>
                link.publish(e.topic, e.payload, {
                  qos: e.qos,
                  ...(e.contentType !== undefined ? { contentType: e.contentType } : {}),
                }),
              ),
            );
            let failed = false;
            for (const [i, r] of results.entries()) {
              const e = batch[i]!;
              if (r.status === 'fulfilled') {
                await q.ack(e.seq);
                this.counters.sent++;
              } else if ((r.reason as { reasonCode?: number }).reasonCode !== undefined) {
                // The hub answered and refused this message (not authorized, too large…): sending
                // it again would be refused again, so it is dropped and reported.
                await q.ack(e.seq);
                this.deps.report(
                  deviceEvent(this.deps.clock, 'message-refused', 'warning', {
                    topic: e.topic,
                    reason: (r.reason as Error).message,
                  }),
                );
              } else failed = true;
            }
            this.deps.touch();
            if (failed) break;
          }
        } while (this.pumpAgain && this.connected);
      } catch (err) {
        this.deps.log('error', `sending the queue: ${(err as Error).message}`);
      } finally {
        this.pumping = false;
        this.deps.drained();
      }
    })();
  }

  /** Resolves when the queues (logs too) are empty and sent (or after `ms`, rejecting). */
  async flush(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.telemetry.length + this.control.length + (this.logs?.length ?? 0) > 0) {
      if (Date.now() > until) throw new Error('queue not drained in time');
      if (this.connected) this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Helpers of the pipelining tests: a batching store behind onPublish, raw bursts and acks. */
import type { IPubackPacket, Packet } from 'mqtt-packet';
import { MqttRefusal, openModeHooks } from '../../src/mqtt/index.js';
import type { InboundPublish, MqttHooks } from '../../src/mqtt/index.js';
import type { RawClient } from './raw-client.js';

/**
 * A store behind onPublish that answers in batches, like the hub's writer: every `everyMs` the
 * waiting messages settle — in a shuffled order, so a connection that acknowledged as stores
 * finish would acknowledge out of order. `hold()` stops it (a stalled database).
 */
export function batchStore(everyMs = 3) {
  const stored: string[] = [];
  const order: string[] = [];
  let waiting: Array<{ payload: string; done: (err?: Error) => void }> = [];
  let held = false;
  let timer: NodeJS.Timeout | null = null;
  let maxWaiting = 0;
  const refuse = new Set<string>();
  const flush = (): void => {
    timer = null;
    if (held) return;
    const batch = waiting;
    waiting = [];
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    for (const w of batch) {
      if (refuse.has(w.payload)) w.done(new MqttRefusal(0x97, 'quota'));
      else {
        stored.push(w.payload);
        w.done();
      }
    }
  };
  const onPublish = (_c: unknown, m: InboundPublish): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      order.push(Buffer.from(m.payload).toString());
      waiting.push({
        payload: Buffer.from(m.payload).toString(),
        done: (err) => (err ? reject(err) : resolve()),
      });
      maxWaiting = Math.max(maxWaiting, waiting.length);
      timer ??= setTimeout(flush, everyMs);
    });
  return {
    stored,
    refuse,
    onPublish,
    /** Messages handed to the store and not yet settled. */
    get waiting() {
      return waiting.length;
    },
    get maxWaiting() {
      return maxWaiting;
    },
    /** Order in which messages reached the store. */
    order,
    hold() {
      held = true;
    },
    release() {
      held = false;
      timer ??= setTimeout(flush, 0);
    },
  };
}

export const hooksWith = (store: ReturnType<typeof batchStore>): MqttHooks => ({
  ...openModeHooks(),
  onPublish: store.onPublish,
});

export const idOf = (p: Packet): number => (p as IPubackPacket).messageId!;
export const codeOf = (p: Packet): number => (p as IPubackPacket).reasonCode ?? 0;

/** Publish `n` messages on one socket without waiting; payloads are `m{i}`. */
export function burst(c: RawClient, n: number, qos: 0 | 1 | 2, first = 1): void {
  for (let i = first; i < first + n; i++) {
    c.send({ cmd: 'publish', topic: 'p/t', payload: `m${i}`, qos, messageId: qos > 0 ? i : 0 });
  }
}

export async function acks(c: RawClient, cmd: string, n: number, ms = 5000): Promise<Packet[]> {
  const out: Packet[] = [];
  while (out.length < n) out.push(await c.next(cmd, ms));
  return out;
}

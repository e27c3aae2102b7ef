/** Retained messages ([MQTT-3.3.1-5]…[MQTT-3.3.1-11]): one per topic, bounded in count and bytes. */
import type { Message } from './message.js';
import { filterMatches } from './topics.js';

/**
 * The retained messages of one engine in memory (the fast path); the engine writes them through
 * to its state store when it has one (decision 0020).
 */
export class RetainedStore {
  private readonly byTopic = new Map<string, Message>();
  private bytes = 0;

  constructor(
    private readonly max: number,
    private readonly maxBytes: number,
    /** Told when an expired message is dropped on lookup (the store forgets it too). */
    private readonly onExpired: (topic: string) => void = () => undefined,
  ) {}

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Store or clear the retained message of a topic. A zero-length payload removes it
   * ([MQTT-3.3.1-6], [MQTT-3.3.1-7]). Returns false when the store is full (a new topic is refused).
   */
  set(msg: Message): boolean {
    const old = this.byTopic.get(msg.topic);
    if (msg.payload.length === 0) {
      if (old !== undefined) this.forget(old);
      return true;
    }
    if (old === undefined && this.byTopic.size >= this.max) return false;
    const grow = size(msg) - (old === undefined ? 0 : size(old));
    if (grow > 0 && this.bytes + grow > this.maxBytes) return false;
    this.byTopic.set(msg.topic, msg);
    this.bytes += grow;
    return true;
  }

  private expire(m: Message): void {
    this.forget(m);
    this.onExpired(m.topic);
  }

  private forget(m: Message): void {
    this.byTopic.delete(m.topic);
    this.bytes -= size(m);
  }

  /** The retained messages matching a filter, dropping expired ones ([MQTT-3.3.2-5]). */
  match(filter: string): Message[] {
    const out: Message[] = [];
    const now = Date.now();
    const exact = !filter.includes('+') && !filter.includes('#');
    if (exact) {
      const m = this.byTopic.get(filter);
      if (m !== undefined) {
        if (m.expiresAt > 0 && m.expiresAt <= now) this.expire(m);
        else out.push(m);
      }
      return out;
    }
    for (const [topic, m] of this.byTopic) {
      if (!filterMatches(filter, topic)) continue;
      if (m.expiresAt > 0 && m.expiresAt <= now) {
        this.expire(m);
        continue;
      }
      out.push(m);
    }
    return out;
  }
}

/** What a retained message counts against `maxRetainedBytes`: its payload and topic. */
function size(m: Message): number {
  return m.payload.length + m.topicBuf.length;
}

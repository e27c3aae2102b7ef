/** Retained messages ([MQTT-3.3.1-5]…[MQTT-3.3.1-11]): one per topic, bounded in count. */
import type { Message } from './message.js';
import { filterMatches } from './topics.js';

/** The retained-message store of one engine (in memory; nothing persisted). */
export class RetainedStore {
  private readonly byTopic = new Map<string, Message>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Store or clear the retained message of a topic. A zero-length payload removes it
   * ([MQTT-3.3.1-6], [MQTT-3.3.1-7]). Returns false when the store is full (a new topic is refused).
   */
  set(msg: Message): boolean {
    if (msg.payload.length === 0) {
      this.byTopic.delete(msg.topic);
      return true;
    }
    if (!this.byTopic.has(msg.topic) && this.byTopic.size >= this.max) return false;
    this.byTopic.set(msg.topic, msg);
    return true;
  }

  /** The retained messages matching a filter, dropping expired ones ([MQTT-3.3.2-5]). */
  match(filter: string): Message[] {
    const out: Message[] = [];
    const now = Date.now();
    const exact = !filter.includes('+') && !filter.includes('#');
    if (exact) {
      const m = this.byTopic.get(filter);
      if (m !== undefined) {
        if (m.expiresAt > 0 && m.expiresAt <= now) this.byTopic.delete(filter);
        else out.push(m);
      }
      return out;
    }
    for (const [topic, m] of this.byTopic) {
      if (!filterMatches(filter, topic)) continue;
      if (m.expiresAt > 0 && m.expiresAt <= now) {
        this.byTopic.delete(topic);
        continue;
      }
      out.push(m);
    }
    return out;
  }
}

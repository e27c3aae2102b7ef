/** UNSUBSCRIBE → UNSUBACK (MQTT 5 §3.10, §3.11). */
import type { IUnsubscribePacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import { encodeUnsuback } from '../codec/packets.js';
import { RC } from '../reason-codes.js';
import { parseFilter } from '../topics.js';

/** Handle UNSUBSCRIBE: remove each filter that exists; v5 says which did not. */
export function handleUnsubscribe(conn: Connection, p: IUnsubscribePacket): void {
  const engine = conn.engine;
  const session = conn.session!;
  const codes: number[] = [];
  for (const raw of p.unsubscriptions) {
    const parsed = parseFilter(raw, engine.limits.maxTopicLength, engine.limits.maxTopicLevels);
    if (parsed === 'empty' || parsed === 'invalid') return conn.fail(RC.MALFORMED, 'bad_filter');
    if (typeof parsed === 'string') {
      codes.push(RC.TOPIC_FILTER_INVALID);
      continue;
    }
    const existed = session.subs.delete(raw);
    // [MQTT-3.10.4-1] The filter is compared character by character with existing subscriptions.
    if (existed) engine.tree.remove(session, parsed.filter, parsed.group);
    codes.push(existed ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED);
  }
  // [MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBACK with the same packet id, even when nothing matched.
  conn.write(encodeUnsuback(p.messageId!, codes, conn.v5));
}

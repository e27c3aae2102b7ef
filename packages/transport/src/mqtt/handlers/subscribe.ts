/** SUBSCRIBE → authorize each filter → SUBACK → retained messages (MQTT 5 §3.8, §3.9). */
import type { ISubscribePacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { GrantedSubscription, SubscribeContext } from '../hooks.js';
import { encodeSuback } from '../codec/packets.js';
import { all, attempt, isPromise, then } from '../maybe.js';
import type { Maybe } from '../maybe.js';
import type { Message } from '../message.js';
import { RC } from '../reason-codes.js';
import type { Session } from '../session.js';
import type { Subscription } from '../topic-tree.js';
import { parseFilter } from '../topics.js';

/** Handle SUBSCRIBE; filters are authorized in order, synchronously when the hook is. */
export function handleSubscribe(conn: Connection, p: ISubscribePacket): void | Promise<void> {
  const engine = conn.engine;
  const limits = engine.limits;
  const v5 = conn.v5;
  const session = conn.session!;
  const identity = conn.identity!;
  const subId = p.properties?.subscriptionIdentifier ?? 0;
  const codes: number[] = [];
  const retained: Array<[Subscription<Session>, Maybe<Message[]>]> = [];
  const grantedSubs: GrantedSubscription[] = [];
  const fail = v5 ? RC.UNSPECIFIED : 0x80;

  for (const s of p.subscriptions) {
    const parsed = parseFilter(s.topic, limits.maxTopicLength, limits.maxTopicLevels);
    // [MQTT-4.7.1-1] [MQTT-4.7.3-1] A syntactically invalid filter is a malformed packet; we
    // close (as Mosquitto does) rather than answer 0x8F. Our length/level limits get a SUBACK code.
    if (parsed === 'empty' || parsed === 'invalid') return conn.fail(RC.MALFORMED, 'bad_filter');
    // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
    if (typeof parsed !== 'string' && parsed.group !== null && s.nl === true) {
      return conn.fail(RC.PROTOCOL_ERROR, 'no_local_on_shared');
    }
  }

  const step = (i: number): Maybe<void> => {
    if (conn.state === 'closed') return;
    if (i === p.subscriptions.length) {
      // [MQTT-3.8.4-1] SUBACK with one code per filter, in order ([MQTT-3.8.4-6]).
      conn.write(encodeSuback(p.messageId!, codes, v5));
      // Retained messages go after the SUBACK, flagged retain ([MQTT-3.3.1-8]); in a cluster
      // they are read from the shared store (decision 0020).
      let lists = all(retained.map((r) => r[1]));
      if (isPromise(lists)) {
        lists = lists.catch((err: unknown) => {
          engine.log.warn({ err, clientId: conn.clientId }, 'mqtt retained messages not read');
          return [];
        });
      }
      const sent = then(lists, (ls) => {
        if (conn.state === 'closed') return;
        ls.forEach((msgs, k) => {
          const sub = retained[k]![0];
          for (const m of msgs) {
            session.deliver(m, Math.min(m.qos, sub.qos), true, sub.subId > 0 ? [sub.subId] : null);
          }
        });
      });
      if (grantedSubs.length > 0) engine.hooks.onSubscribed?.(identity, grantedSubs);
      return sent;
    }
    const s = p.subscriptions[i]!;
    const parsed = parseFilter(s.topic, limits.maxTopicLength, limits.maxTopicLevels);
    if (typeof parsed === 'string') {
      codes.push(v5 ? RC.TOPIC_FILTER_INVALID : 0x80);
      return step(i + 1);
    }
    const existed = session.subs.get(s.topic);
    if (existed === undefined && session.subs.size >= limits.maxSubscriptionsPerClient) {
      engine.countDrop('subscriptions_per_client');
      codes.push(v5 ? RC.QUOTA_EXCEEDED : 0x80);
      return step(i + 1);
    }
    // One ACL for shared and plain subscriptions: the hook sees the filter inside
    // `$share/{group}/` and is told the group (MQTT 5 §4.8.2).
    const ctx: SubscribeContext = { group: parsed.group, cause: 'subscribe' };
    const decision = attempt(() =>
      engine.hooks.authorizeSubscribe(identity, parsed.filter, s.qos, ctx),
    );
    const next = then(decision, (granted) => {
      // Cut while the hook answered: no subscription is added to a session that may have ended
      // (it would be a subscription nobody can remove).
      if (conn.state === 'closed') return;
      if (granted >= 0x80 || granted < 0) {
        engine.denied(identity, 'subscribe', s.topic, granted, 'request');
        // v5: the hook's reason (e.g. 0x87); v3.1.1: 0x80 Failure ([MQTT-3.9.3-…]).
        codes.push(v5 ? granted : 0x80);
        return step(i + 1);
      }
      const qos = Math.min(granted, s.qos) as 0 | 1 | 2;
      const sub: Subscription<Session> = {
        session,
        raw: s.topic,
        filter: parsed.filter,
        group: parsed.group,
        qos,
        noLocal: s.nl === true,
        retainAsPublished: s.rap === true,
        retainHandling: s.rh ?? 0,
        subId,
      };
      // [MQTT-3.8.4-3] A repeated filter replaces the subscription (retained sent again if rh = 0).
      engine.tree.add(sub);
      session.subs.set(s.topic, sub);
      // Retain Handling 0: always; 1: only for a new subscription; 2: never ([MQTT-3.3.1-9..11]).
      // Shared subscriptions get no retained messages ([MQTT-4.8.2-?], MQTT 5 §4.8.2).
      const rh = sub.retainHandling;
      if (parsed.group === null && (rh === 0 || (rh === 1 && existed === undefined))) {
        retained.push([sub, engine.retainedFor(parsed.filter)]);
      }
      codes.push(qos);
      if (parsed.group === null) grantedSubs.push({ filter: s.topic, qos });
      return step(i + 1);
    });
    return next;
  };
  const r = step(0);
  if (r instanceof Promise) {
    return r.catch((err: unknown) => {
      engine.log.warn({ err, clientId: conn.clientId }, 'mqtt authorizeSubscribe failed');
      while (codes.length < p.subscriptions.length) codes.push(fail);
      conn.write(encodeSuback(p.messageId!, codes, v5));
    });
  }
}

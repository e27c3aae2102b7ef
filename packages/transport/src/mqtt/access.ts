/**
 * Access changes reaching sessions (DESIGN.md §4.1): the subscriptions a session holds are
 * authorized again when it is resumed and whenever the hub says access changed, and the ones now
 * denied are dropped together with every message still waiting for them. An authorization answer
 * is never kept beyond the next access change.
 */
import type { Engine } from './engine.js';
import type { ClientIdentity, SubscribeContext } from './hooks.js';
import { all, attempt, then } from './maybe.js';
import type { Maybe } from './maybe.js';
import { RC } from './reason-codes.js';
import type { Session } from './session.js';
import type { Subscription } from './topic-tree.js';
import { filterMatches } from './topics.js';

/** What a re-authorization left. */
export interface Reauthorized {
  /** The subscriptions the session still holds (QoS lowered where the hook now grants less). */
  kept: Array<Subscription<Session>>;
  /** How many subscriptions were dropped. */
  removed: number;
}

const NOTHING_HELD: Reauthorized = { kept: [], removed: 0 };

/**
 * Ask `authorizeSubscribe` again for every subscription `session` holds (plain and shared, with
 * the filter inside a share and its group), as `identity`. Denied ones are removed from the
 * session and the topic tree and reported to `onDenied`; queued and unacknowledged messages that
 * no remaining subscription matches are dropped (counted as `subscription_revoked`).
 *
 * `stillWanted` is asked once the answers are in; false leaves the session untouched.
 *
 * A hook failure: with cause 'resume' the whole answer fails (the caller refuses the connection
 * and keeps the session as it was); with 'reauthorize' it counts as a denial (fail closed).
 */
export function reauthorizeSession(
  engine: Engine,
  session: Session,
  identity: ClientIdentity,
  cause: Exclude<SubscribeContext['cause'], 'subscribe'>,
  stillWanted: () => boolean = () => true,
): Maybe<Reauthorized> {
  const subs = [...session.subs.values()];
  if (subs.length === 0) return NOTHING_HELD;
  const answers = subs.map((sub) => {
    const ctx: SubscribeContext = { group: sub.group, cause };
    const answer = attempt(() =>
      engine.hooks.authorizeSubscribe(identity, sub.filter, sub.qos, ctx),
    );
    if (cause === 'resume' || !(answer instanceof Promise)) return answer;
    return answer.catch((err: unknown) => {
      engine.log.warn(
        { err, filter: sub.raw },
        'mqtt authorizeSubscribe failed: subscription dropped',
      );
      return RC.UNSPECIFIED;
    });
  });
  return then(all(answers), (codes) =>
    // A connection taken over (or gone) while the hook answered leaves the session to its successor.
    stillWanted() ? apply(engine, session, identity, subs, codes, cause) : NOTHING_HELD,
  );
}

function apply(
  engine: Engine,
  session: Session,
  identity: ClientIdentity,
  subs: Array<Subscription<Session>>,
  codes: number[],
  cause: 'resume' | 'reauthorize',
): Reauthorized {
  const kept: Array<Subscription<Session>> = [];
  let removed = 0;
  subs.forEach((sub, i) => {
    // Re-subscribed, unsubscribed or ended while the hook was answering: the newer state stands.
    if (session.subs.get(sub.raw) !== sub) return;
    const granted = codes[i]!;
    if (granted >= 0x80 || granted < 0) {
      engine.tree.remove(session, sub.filter, sub.group);
      session.subs.delete(sub.raw);
      engine.denied(identity, 'subscribe', sub.raw, granted, cause);
      removed++;
      return;
    }
    if (granted < sub.qos) {
      // Granted less than before: the lower QoS holds from now on ([MQTT-3.8.4-3] replaces).
      const lower: Subscription<Session> = { ...sub, qos: granted as 0 | 1 | 2 };
      engine.tree.add(lower);
      session.subs.set(sub.raw, lower);
      kept.push(lower);
    } else kept.push(sub);
  });
  if (removed > 0) {
    const remaining = [...session.subs.values()];
    const lost = session.purge((topic) => remaining.some((s) => filterMatches(s.filter, topic)));
    if (lost > 0) engine.countDrop('subscription_revoked', lost);
  }
  return { kept, removed };
}

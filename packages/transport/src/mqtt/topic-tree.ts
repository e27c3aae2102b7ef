/**
 * Subscription matching: a trie over topic levels with a bounded topic → deliveries cache that every
 * (un)subscribe invalidates. Overlapping subscriptions of one session collapse into one delivery
 * with the highest QoS and all Subscription Identifiers ([MQTT-3.3.4-2], [MQTT-3.3.4-3]).
 */

/** One subscription of one session. */
export interface Subscription<S> {
  session: S;
  /** The filter as the client sent it (including any `$share/{group}/`). */
  raw: string;
  /** The topic filter matched against topics. */
  filter: string;
  group: string | null;
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  subId: number;
}

/** What one session receives for one topic. */
export interface Delivery<S> {
  session: S;
  /** Highest granted QoS over the matching subscriptions. */
  qos: number;
  /** Highest granted QoS over matching subscriptions without No Local (-1 if none). */
  qosNotLocal: number;
  retainAsPublished: boolean;
  subIds: number[] | null;
}

/** A shared subscription group: messages go round-robin to one member ([MQTT-4.8.2-…]). */
export interface SharedGroup<S> {
  key: string;
  members: Array<Subscription<S>>;
  next: number;
}

/** The result of matching a topic. */
export interface Match<S> {
  direct: Array<Delivery<S>>;
  shared: Array<SharedGroup<S>>;
}

class TrieNode<S> {
  readonly children = new Map<string, TrieNode<S>>();
  readonly subs = new Map<string, Subscription<S>>();
  readonly groups = new Map<string, SharedGroup<S>>();
  isEmpty(): boolean {
    return this.children.size === 0 && this.subs.size === 0 && this.groups.size === 0;
  }
}

const EMPTY: Match<never> = { direct: [], shared: [] };

/** The subscription index of one engine. */
export class TopicTree<S extends { key: string }> {
  private readonly root = new TrieNode<S>();
  private readonly cache = new Map<string, Match<S>>();
  private count = 0;

  constructor(private readonly cacheSize: number) {}

  /** Number of subscriptions held. */
  get size(): number {
    return this.count;
  }

  /** Add or replace a session's subscription to a filter ([MQTT-3.8.4-3] replaces). */
  add(sub: Subscription<S>): void {
    this.cache.clear();
    let node = this.root;
    for (const level of sub.filter.split('/')) {
      let next = node.children.get(level);
      if (next === undefined) {
        next = new TrieNode<S>();
        node.children.set(level, next);
      }
      node = next;
    }
    if (sub.group === null) {
      if (!node.subs.has(sub.session.key)) this.count++;
      node.subs.set(sub.session.key, sub);
      return;
    }
    let group = node.groups.get(sub.group);
    if (group === undefined) {
      group = { key: sub.raw, members: [], next: 0 };
      node.groups.set(sub.group, group);
    }
    const i = group.members.findIndex((m) => m.session.key === sub.session.key);
    if (i >= 0) group.members[i] = sub;
    else {
      group.members.push(sub);
      this.count++;
    }
  }

  /** Remove a session's subscription; returns whether it existed. */
  remove(session: S, filter: string, group: string | null): boolean {
    const path: Array<[TrieNode<S>, string]> = [];
    let node = this.root;
    for (const level of filter.split('/')) {
      const next = node.children.get(level);
      if (next === undefined) return false;
      path.push([node, level]);
      node = next;
    }
    let removed = false;
    if (group === null) removed = node.subs.delete(session.key);
    else {
      const g = node.groups.get(group);
      if (g !== undefined) {
        const i = g.members.findIndex((m) => m.session.key === session.key);
        if (i >= 0) {
          g.members.splice(i, 1);
          removed = true;
          if (g.members.length === 0) node.groups.delete(group);
        }
      }
    }
    if (!removed) return false;
    this.count--;
    this.cache.clear();
    // Prune empty branches so the trie does not grow with churn.
    for (let i = path.length - 1; i >= 0 && node.isEmpty(); i--) {
      const [parent, level] = path[i]!;
      parent.children.delete(level);
      node = parent;
    }
    return true;
  }

  /** The deliveries for a topic name (cached). */
  match(topic: string): Match<S> {
    const hit = this.cache.get(topic);
    if (hit !== undefined) return hit;
    const direct = new Map<string, Delivery<S>>();
    const shared: Array<SharedGroup<S>> = [];
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] Wildcards at the first level do not match topics starting with '$'.
    this.walk(this.root, levels, 0, topic.charCodeAt(0) === 0x24, direct, shared);
    const result: Match<S> =
      direct.size === 0 && shared.length === 0 ? EMPTY : { direct: [...direct.values()], shared };
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(topic, result);
    return result;
  }

  private walk(
    node: TrieNode<S>,
    levels: string[],
    i: number,
    dollar: boolean,
    direct: Map<string, Delivery<S>>,
    shared: Array<SharedGroup<S>>,
  ): void {
    if (i === levels.length) {
      this.collect(node, direct, shared);
      // 'sport/#' also matches 'sport' [MQTT-4.7.1-2].
      const hash = node.children.get('#');
      if (hash !== undefined) this.collect(hash, direct, shared);
      return;
    }
    const exact = node.children.get(levels[i]!);
    if (exact !== undefined) this.walk(exact, levels, i + 1, dollar, direct, shared);
    if (dollar && i === 0) return;
    const plus = node.children.get('+');
    if (plus !== undefined) this.walk(plus, levels, i + 1, dollar, direct, shared);
    const hash = node.children.get('#');
    if (hash !== undefined) this.collect(hash, direct, shared);
  }

  private collect(
    node: TrieNode<S>,
    direct: Map<string, Delivery<S>>,
    shared: Array<SharedGroup<S>>,
  ): void {
    for (const sub of node.subs.values()) {
      const d = direct.get(sub.session.key);
      if (d === undefined) {
        direct.set(sub.session.key, {
          session: sub.session,
          qos: sub.qos,
          qosNotLocal: sub.noLocal ? -1 : sub.qos,
          retainAsPublished: sub.retainAsPublished,
          subIds: sub.subId > 0 ? [sub.subId] : null,
        });
      } else {
        d.qos = Math.max(d.qos, sub.qos);
        if (!sub.noLocal) d.qosNotLocal = Math.max(d.qosNotLocal, sub.qos);
        d.retainAsPublished ||= sub.retainAsPublished;
        if (sub.subId > 0) (d.subIds ??= []).push(sub.subId);
      }
    }
    for (const g of node.groups.values()) shared.push(g);
  }
}

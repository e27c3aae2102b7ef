/**
 * Rules on telemetry as messages arrive (decision 0035): the bus handler of one hub node. It
 * evaluates only envelopes this node accepted (`origin` is this node): every node of a cluster
 * sees every envelope on the bus, and the node that accepted a message is the one that evaluates
 * it, so each message is evaluated exactly once across the cluster. The per (rule, device) state
 * therefore lives on the node the device publishes through; a device that moves to another node
 * starts its durations afresh there.
 */
import type { Clock } from '../ports/clock.js';
import type { DomainEvents, StopListening } from '../ports/events.js';
import type { Envelope } from '../ports/messaging.js';
import type { Device } from '../ports/records.js';
import type { RuleStore } from '../ports/rules.js';
import type { Storage } from '../ports/storage.js';
import { RuleEvaluator, type CompiledRule, type RuleOutcome } from './evaluator.js';
import type { RuleActions } from './rule-actions.js';
import { groupMatches, locationSubtree } from './scope.js';

/** How long a device's type, tags and location (and a location's subtree) are trusted, ms. */
const GROUP_CACHE_MS = 30_000;
/** Entries of each group cache; past it the cache starts over (it is only a cache). */
const GROUP_CACHE_MAX = 50_000;

/** What the engine has done since it started. */
export interface RuleEngineStats {
  /** Envelopes of this node with at least one record a rule looks at. */
  matched: number;
  fired: number;
  cleared: number;
}

class TtlMap<V> {
  readonly #m = new Map<string, { v: V; at: number }>();
  get(key: string, now: number): V | undefined {
    const e = this.#m.get(key);
    return e !== undefined && now - e.at < GROUP_CACHE_MS ? e.v : undefined;
  }
  set(key: string, v: V, now: number): void {
    if (this.#m.size >= GROUP_CACHE_MAX) this.#m.clear();
    this.#m.set(key, { v, at: now });
  }
}

/** Evaluates rules on this node's envelopes and takes their actions. */
export class RuleEngine {
  readonly evaluator: RuleEvaluator;
  readonly stats: RuleEngineStats = { matched: 0, fired: 0, cleared: 0 };
  readonly #devices = new TtlMap<Device | null>();
  readonly #subtrees = new TtlMap<Set<string>>();
  #stop: StopListening | undefined;
  /** Made once: the hot path passes it without allocating a closure per envelope. */
  readonly #groupCheck = (rule: CompiledRule, orgId: string, deviceId: string) =>
    this.#inGroupCached(rule, orgId, deviceId);

  constructor(
    private readonly d: {
      store: RuleStore;
      storage: Pick<Storage, 'devices' | 'locations'>;
      actions: RuleActions;
      clock: Clock;
      nodeId: string;
      events?: DomainEvents;
      evaluator?: RuleEvaluator;
      /** Told about a failing evaluation (default: console.error). */
      onError?: (err: unknown) => void;
    },
  ) {
    this.evaluator = d.evaluator ?? new RuleEvaluator();
  }

  /** Loads every enabled rule and follows the changes other nodes make. */
  async start(): Promise<void> {
    await this.reloadAll();
    // This node's own changes reload through the rule service's hook, before its call returns.
    this.#stop = this.d.events?.listen((e) => {
      if (e.type === 'rule.changed' && e.origin !== this.d.nodeId)
        void this.reloadOrg(e.orgId).catch((err: unknown) => this.#report(err));
      // A decommissioned device's pairs go (its id never publishes again); a device whose type,
      // tags or location changed is read again within the group cache's 30 s.
      if (e.type === 'device.state_changed' && e.to === 'decommissioned')
        this.evaluator.forgetDevice(e.deviceId);
    });
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  /** Reads every enabled rule again; organizations left without any are dropped. */
  async reloadAll(): Promise<void> {
    const all = await this.d.store.listEnabled();
    const byOrg = new Map<string, typeof all>();
    for (const r of all) {
      const list = byOrg.get(r.orgId);
      if (list) list.push(r);
      else byOrg.set(r.orgId, [r]);
    }
    for (const orgId of this.evaluator.orgIds())
      if (!byOrg.has(orgId)) this.evaluator.setOrg(orgId, []);
    for (const [orgId, rules] of byOrg) this.evaluator.setOrg(orgId, rules);
  }

  /** Reads an organization's enabled rules again (after a change). */
  async reloadOrg(orgId: string): Promise<void> {
    this.evaluator.setOrg(orgId, await this.d.store.listEnabled(orgId));
  }

  /**
   * The bus handler. Synchronous and allocation-free for an envelope no rule looks at, and
   * synchronous too while no rule fires or clears (the common case: state steps only). A promise,
   * which holds the bus back and keeps the order, only when an action is due or a device's group
   * (type, tag, location) must be read first.
   */
  readonly handle = (env: Envelope): void | Promise<void> => {
    // A message a gateway evaluated the site's rules on is not evaluated again (decision 0040).
    if (env.origin !== this.d.nodeId || env.ruled === true) return undefined;
    const out = this.evaluator.evaluate(env, this.#groupCheck);
    if (out === undefined) return undefined;
    this.stats.matched++;
    if (out === null) return undefined;
    return this.#finish(env, out).catch((err: unknown) => this.#report(err));
  };

  /** Reads the groups not cached, steps those hits, then takes the actions due, in order. */
  async #finish(env: Envelope, out: RuleOutcome): Promise<void> {
    const deviceId = env.publisher.id;
    for (const hit of out.unknown) {
      if (!(await this.#inGroup(hit.rule, env.orgId, deviceId))) continue;
      const t = this.evaluator.step(hit.rule, deviceId, hit.holds, env.receivedAt);
      if (t !== undefined) out.due.push({ hit, t });
    }
    for (const { hit, t } of out.due) {
      const occasion = {
        orgId: env.orgId,
        deviceId,
        channelId: env.channelId,
        record: hit.record.n,
        value: hit.value,
        messageId: env.id,
      };
      if (t === 'fire') {
        this.stats.fired++;
        await this.d.actions.fire(hit.rule.rule, occasion);
      } else {
        this.stats.cleared++;
        await this.d.actions.clear(hit.rule.rule, occasion);
      }
    }
  }

  /** The group decision from the caches alone; undefined when something must be read. */
  #inGroupCached(rule: CompiledRule, orgId: string, deviceId: string): boolean | undefined {
    const now = this.d.clock.now();
    const device = this.#devices.get(`${orgId}\u0000${deviceId}`, now);
    if (device === undefined) return undefined;
    if (device === null) return false;
    const s = rule.rule.scope;
    if (s.location === undefined || device.locationId === null) return this.#matches(rule, device);
    const subtree = this.#subtrees.get(`${orgId}\u0000${s.location}`, now);
    if (subtree === undefined) return undefined;
    return this.#matches(rule, device) && subtree.has(device.locationId);
  }

  #matches(rule: CompiledRule, device: Device): boolean {
    return groupMatches(rule.rule.scope, device);
  }

  /** Does the device fall in the rule's type / tag / location scope? */
  async #inGroup(rule: CompiledRule, orgId: string, deviceId: string): Promise<boolean> {
    const now = this.d.clock.now();
    const key = `${orgId}\u0000${deviceId}`;
    let device = this.#devices.get(key, now);
    if (device === undefined) {
      device = (await this.d.storage.devices.get(orgId, deviceId)) ?? null;
      this.#devices.set(key, device, now);
    }
    if (device === null || !this.#matches(rule, device)) return false;
    const s = rule.rule.scope;
    if (s.location !== undefined && device.locationId !== null) {
      const lkey = `${orgId}\u0000${s.location}`;
      let subtree = this.#subtrees.get(lkey, now);
      if (subtree === undefined) {
        subtree = await this.#subtree(orgId, s.location);
        this.#subtrees.set(lkey, subtree, now);
      }
      if (!subtree.has(device.locationId)) return false;
    }
    return true;
  }

  async #subtree(orgId: string, rootId: string): Promise<Set<string>> {
    return locationSubtree(await this.d.storage.locations.list(orgId), rootId);
  }

  #report(err: unknown): void {
    try {
      (this.d.onError ?? ((e: unknown) => console.error('bulwark: rule evaluation failed:', e)))(
        err,
      );
    } catch {
      // A failing reporter must not stop evaluation.
    }
  }
}

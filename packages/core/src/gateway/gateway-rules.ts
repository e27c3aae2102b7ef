/**
 * Rules on telemetry at a site (decision 0040, amendment "local operation"; rules: decision 0035).
 *
 * **Down:** the site view a gateway syncs carries the organization's enabled rules whose scope
 * takes at least one site device, a group scope with those devices resolved here (the gateway
 * holds no types, tags or locations). Only the gateway's own certificate fetches it (`GET /gateway/site`).
 *
 * **Up:** a gateway evaluates the rules on the channel messages its broker accepts and marks them
 * `ruled` (the hub's engine skips them); when one fires or clears it sends a `RuleFiring` in its
 * uplink, in the device's order. Here it is applied as the rule's own firing: the gateway must
 * speak for the device and the rule must exist in the gateway's organization with a scope that
 * takes the device and channel. The rule's actions then run through RuleActions as on the hub —
 * except its commands, which the gateway already handed to the device: those are recorded as
 * delivered so the device's result lands on them. A gateway can make a rule act only as the rule
 * says, on its own site's devices, which its forwarded telemetry could do anyway.
 */
import { BulwarkError, type GatewayRule, type RuleFiring } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Device } from '../ports/records.js';
import type { RuleRecord, RuleStore } from '../ports/rules.js';
import type { Storage } from '../ports/storage.js';
import type { RuleActions } from '../rules/rule-actions.js';
import { DEFAULT_RULE_REFIRE_MS } from '../rules/evaluator.js';
import { isGroupScope, locationSubtree, scopeTakesDevice } from '../rules/scope.js';
import type { GatewaySites } from './gateway-sites.js';

/** A firing stamped further than this from the hub's clock is refused (clock skew, forgery). */
const MAX_FIRING_AGE_MS = 30 * 86_400_000;
const MAX_AHEAD_MS = 5 * 60_000;
/** (rule, device) pairs whose last firing time is remembered; past it the oldest is forgotten. */
const MAX_PAIRS = 100_000;

export class GatewayRules {
  /** `rule|device` → the time of the last firing applied (the refire bound, decision 0035). */
  readonly #lastFired = new Map<string, number>();

  constructor(
    private readonly d: {
      store: Pick<RuleStore, 'get' | 'listEnabled'>;
      storage: Pick<Storage, 'locations'>;
      sites: Pick<GatewaySites, 'maySpeakFor' | 'member'>;
      actions: Pick<RuleActions, 'fire' | 'clear'>;
      clock: Clock;
      /** Least time between two firings of one (rule, device), by firing time (default 60 s). */
      minRefireMs?: number;
    },
  ) {}

  /** The enabled rules of g's organization that take at least one of the site's `members`. */
  async forSite(g: Device, members: readonly Device[]): Promise<GatewayRule[]> {
    const rules = await this.d.store.listEnabled(g.orgId);
    if (rules.length === 0) return [];
    const locations = await this.d.storage.locations.list(g.orgId);
    const out: GatewayRule[] = [];
    for (const r of rules) {
      const sub = r.scope.location ? locationSubtree(locations, r.scope.location) : undefined;
      const devices = members.filter((m) => scopeTakesDevice(r.scope, m, sub)).map((m) => m.id);
      if (devices.length === 0) continue;
      out.push({
        id: r.id,
        name: r.name,
        record: r.record,
        condition: r.condition,
        forSeconds: r.forSeconds,
        scope: r.scope,
        actions: r.actions,
        updatedAt: r.updatedAt,
        // Only a group scope needs the list (the evaluator checks device and channel itself).
        ...(isGroupScope(r.scope) ? { devices } : {}),
      });
    }
    return out;
  }

  /**
   * Applies a firing gateway g reported for `deviceId`. BulwarkError `not_authorized` when the
   * gateway may not (not its device, no such rule, out of the rule's scope, commands the rule
   * does not take): the caller drops and reports it.
   */
  async apply(g: Device, deviceId: string, f: RuleFiring): Promise<void> {
    const now = this.d.clock.now();
    const refuse = (why: string) => new BulwarkError('not_authorized', `rule firing: ${why}`);
    if (f.at > now + MAX_AHEAD_MS || f.at < now - MAX_FIRING_AGE_MS)
      throw refuse('its time is too far from the hub');
    const x = await this.d.sites.member(g, deviceId);
    if (!x || !(await this.d.sites.maySpeakFor(g, deviceId)))
      throw refuse(`the gateway does not speak for ${deviceId}`);
    const rule = await this.d.store.get(g.orgId, f.ruleId);
    if (!rule) throw refuse('no such rule in this organization');
    const s = rule.scope;
    const sub = s.location
      ? locationSubtree(await this.d.storage.locations.list(g.orgId), s.location)
      : undefined;
    if (!scopeTakesDevice(s, x, sub) || (s.channelId !== undefined && s.channelId !== f.channelId))
      throw refuse('the rule does not take this device or channel');
    if (f.t === 'fire' && f.ruleUpdatedAt === rule.updatedAt) checkCommands(rule, f);
    const occasion = {
      orgId: g.orgId,
      deviceId,
      channelId: f.channelId,
      record: f.record,
      value: f.value,
      messageId: f.messageId,
      gateway: { id: g.id, at: f.at, commands: f.commands },
    };
    if (f.t === 'clear') return this.d.actions.clear(rule, occasion);
    // The evaluator's minute between two firings of a pair, held here too: a gateway reporting
    // firings faster than its own evaluator would (forged, or replayed with new ids) is refused.
    const pair = `${rule.id}|${deviceId}`;
    const last = this.#lastFired.get(pair);
    if (last !== undefined && f.at < last + (this.d.minRefireMs ?? DEFAULT_RULE_REFIRE_MS))
      throw refuse("fired again within the rule's least interval");
    this.#lastFired.delete(pair);
    if (this.#lastFired.size >= MAX_PAIRS)
      this.#lastFired.delete(this.#lastFired.keys().next().value!);
    this.#lastFired.set(pair, f.at);
    // The site ran the version it held: its commands happened and are recorded as they were;
    // the alert, twin and webhook actions are the rule's as it stands now.
    const acted: RuleRecord = {
      ...rule,
      actions: [
        ...rule.actions.filter((a) => a.type !== 'command'),
        ...f.commands.map((c) => ({ type: 'command' as const, name: c.name, params: c.params })),
      ],
    };
    await this.d.actions.fire(acted, occasion);
  }
}

/** The commands of a firing of the current version must be the rule's own, in order. */
function checkCommands(rule: RuleRecord, f: RuleFiring): void {
  const own = rule.actions.filter((a) => a.type === 'command');
  const same =
    own.length === f.commands.length &&
    own.every(
      (a, i) =>
        a.name === f.commands[i]!.name &&
        JSON.stringify(a.params ?? {}) === JSON.stringify(f.commands[i]!.params),
    );
  if (!same)
    throw new BulwarkError('not_authorized', 'rule firing: commands the rule does not take');
}

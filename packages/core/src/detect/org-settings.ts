/**
 * Each organization's rule settings as the engine reads them (decision 0034): loaded once, kept
 * for 30 s (a change made on another node applies within that; on this node at once), the
 * defaults for any rule the organization did not change.
 */
import type { Clock } from '../ports/clock.js';
import type { DetectStore } from '../ports/detect.js';
import {
  DETECT_RULES,
  effectiveParams,
  parseStoredUpdate,
  type DetectRuleId,
  type RuleParams,
} from './rules.js';

/** How long loaded settings are used before they are read again. */
const TTL_MS = 30_000;
/** Organizations cached at once. */
const MAX_ORGS = 10_000;

interface Entry {
  params: Record<DetectRuleId, RuleParams>;
  at: number;
}

/** The rule settings of organizations, cached. */
export class OrgRuleSettings {
  readonly #cache = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();

  constructor(private readonly d: { store: DetectStore; clock: Clock }) {}

  /** The settings if loaded (a stale entry is still served while it reloads). */
  cached(orgId: string, ruleId: DetectRuleId): RuleParams | undefined {
    const e = this.#cache.get(orgId);
    if (!e || this.d.clock.now() - e.at >= TTL_MS) void this.load(orgId).catch(() => undefined);
    return e?.params[ruleId];
  }

  /** The settings, loading them when needed. */
  async params(orgId: string, ruleId: DetectRuleId): Promise<RuleParams> {
    const e = this.#cache.get(orgId);
    if (e && this.d.clock.now() - e.at < TTL_MS) return e.params[ruleId];
    return (await this.load(orgId)).params[ruleId];
  }

  /** Reads the organization's settings now (one read in flight per organization). */
  load(orgId: string): Promise<Entry> {
    let p = this.#loading.get(orgId);
    if (!p) {
      p = this.#read(orgId).finally(() => this.#loading.delete(orgId));
      this.#loading.set(orgId, p);
    }
    return p;
  }

  /** Forgets the organization's settings (changed on this node): the next use reads them. */
  invalidate(orgId: string): void {
    this.#cache.delete(orgId);
  }

  async #read(orgId: string): Promise<Entry> {
    const rows = await this.d.store.listRuleSettings(orgId);
    const changed = new Map(rows.map((r) => [r.ruleId, parseStoredUpdate(r.settings)]));
    const params = {} as Record<DetectRuleId, RuleParams>;
    for (const rule of Object.values(DETECT_RULES))
      params[rule.id] = effectiveParams(rule, changed.get(rule.id));
    const entry = { params, at: this.d.clock.now() };
    this.#cache.delete(orgId);
    if (this.#cache.size >= MAX_ORGS) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(orgId, entry);
    return entry;
  }
}

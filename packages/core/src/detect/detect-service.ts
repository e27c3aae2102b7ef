/**
 * Detection over the API (decision 0034): an organization's rules with their settings beside the
 * defaults, changes to them, and one device as this node's engine sees it — its counters, its
 * learned baselines, the band each rule holds it to, and the rules that fired for it.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DetectStore } from '../ports/detect.js';
import type { DetectEvidence } from '../ports/events.js';
import type { DeviceService } from '../devices/device-service.js';
import { Baseline } from './baseline.js';
import { parsePorts, type DetectDeviceState } from './device-state.js';
import type { DetectEngine } from './engine.js';
import {
  DETECT_RULES,
  checkRuleUpdate,
  effectiveParams,
  parseStoredUpdate,
  type DetectRule,
  type DetectRuleId,
  type RuleParams,
  type RuleUpdate,
} from './rules.js';

/** A rule as an organization has it. */
export interface OrgDetectRule {
  rule: DetectRule;
  settings: RuleParams;
  updatedAt: number | null;
}

/** One rule's view of one device. */
export interface DeviceRuleView {
  ruleId: DetectRuleId;
  metric: string;
  windowSeconds: number;
  current: number;
  baseline: {
    samples: number;
    learned: boolean;
    learningEndsAt: number | null;
    median: number | null;
    mad: number | null;
  } | null;
  basis: 'device' | 'group' | 'threshold' | 'none';
  band: { low: number | null; high: number | null };
  knownPorts?: number[];
}

/** A device as this node's engine sees it. */
export interface DeviceDetectView {
  deviceId: string;
  node: string;
  group: string;
  tracked: boolean;
  counters: Record<string, number>;
  metrics: DeviceRuleView[];
  gates: {
    ruleId: DetectRuleId;
    state: 'open' | 'cooldown';
    since: number;
    lastBreachAt: number;
    evidence: DetectEvidence;
  }[];
}

/** The counters the device view shows, over the last minute. */
const COUNTERS = [
  'messages_in',
  'bytes_in',
  'connects',
  'cross_source_takeovers',
  'authz_denied',
  'renewals',
  'disallowed_connections',
] as const;

/** The detection API of one node. */
export class DetectService {
  constructor(
    private readonly d: {
      store: DetectStore;
      clock: Clock;
      devices: Pick<DeviceService, 'get'>;
      engine: DetectEngine;
      nodeId: string;
    },
  ) {}

  /** The engine (not instrumented: the ingest path calls it for every message). */
  get engine(): DetectEngine {
    return this.d.engine;
  }

  /** Every rule with the organization's settings. */
  async list(orgId: string): Promise<OrgDetectRule[]> {
    const rows = await this.d.store.listRuleSettings(orgId);
    const byRule = new Map(rows.map((r) => [r.ruleId, r]));
    return Object.values(DETECT_RULES).map((rule) => {
      const row = byRule.get(rule.id);
      return {
        rule,
        settings: effectiveParams(rule, row ? parseStoredUpdate(row.settings) : undefined),
        updatedAt: row?.updatedAt ?? null,
      };
    });
  }

  /** One rule. */
  async get(orgId: string, ruleId: DetectRuleId): Promise<OrgDetectRule> {
    const r = (await this.list(orgId)).find((x) => x.rule.id === ruleId);
    if (!r) throw new BulwarkError('not_found', `no detection rule ${ruleId}`);
    return r;
  }

  /** Changes one rule's settings for the organization (a setting it does not use is refused). */
  async update(
    orgId: string,
    ruleId: DetectRuleId,
    update: RuleUpdate,
    actor: string | null,
  ): Promise<OrgDetectRule> {
    const rule = DETECT_RULES[ruleId];
    if (!rule) throw new BulwarkError('not_found', `no detection rule ${ruleId}`);
    checkRuleUpdate(rule, update);
    const rows = await this.d.store.listRuleSettings(orgId);
    const before = rows.find((r) => r.ruleId === ruleId);
    const merged = { ...(before ? parseStoredUpdate(before.settings) : {}), ...update };
    await this.d.store.putRuleSetting({
      orgId,
      ruleId,
      settings: JSON.stringify(merged),
      updatedBy: actor,
      updatedAt: this.d.clock.now(),
    });
    this.d.engine.settings.invalidate(orgId);
    return this.get(orgId, ruleId);
  }

  /** A device's counters, baselines and gates on this node. */
  async device(orgId: string, deviceId: string): Promise<DeviceDetectView> {
    const device = await this.d.devices.get(orgId, deviceId); // not_found for another org's
    const engine = this.d.engine;
    const now = this.d.clock.now();
    const s = engine.tracked(orgId, deviceId);
    if (s) await s.loading;
    const stored = s ? undefined : await this.#stored(orgId, deviceId);
    const rules = await this.list(orgId);
    const metrics: DeviceRuleView[] = [];
    for (const { rule, settings: p } of rules) {
      if (rule.per !== 'device') continue;
      // Renewals count over the rule's window from the stored certificates, as the rule does: the
      // in-memory counters remember 15 minutes, not the rule's day.
      const current =
        rule.id === 'renewal_outside_schedule'
          ? await engine.renewalsInWindow(orgId, deviceId, p.windowSeconds)
          : s
            ? engine.counterValue(s, rule.metric, p.windowSeconds)
            : 0;
      const view: DeviceRuleView = {
        ruleId: rule.id,
        metric: rule.metric,
        windowSeconds: p.windowSeconds,
        current,
        baseline: null,
        basis: 'none',
        band: { low: null, high: null },
      };
      if (rule.kind === 'baseline') {
        const b = s?.flood ?? stored?.flood;
        const learningMs = (p.learningMinutes ?? 0) * 60_000;
        if (b) {
          const st = b.stats();
          const learned = b.learned(now, learningMs);
          view.baseline = {
            samples: st.samples,
            learned,
            learningEndsAt: learned ? null : b.firstAt + learningMs,
            median: st.samples > 0 ? st.median : null,
            mad: st.samples > 0 ? st.mad : null,
          };
        }
        if (s) {
          const band = engine.floodBand(s, p, now);
          view.basis = band.basis;
          view.band = { low: band.low, high: band.high };
        }
        if (view.basis === 'none' && p.threshold !== null) {
          view.basis = 'threshold';
          view.band = { low: null, high: p.threshold - 1 };
        }
      } else if (rule.kind === 'new_value') {
        const ports = s?.ports ?? stored?.ports;
        if (ports) {
          view.knownPorts = [...ports.known].sort((a, b) => a - b);
          const learningMs = (p.learningMinutes ?? 0) * 60_000;
          const learned = now - ports.firstAt >= learningMs;
          view.baseline = {
            samples: ports.known.size,
            learned,
            learningEndsAt: learned ? null : ports.firstAt + learningMs,
            median: null,
            mad: null,
          };
          view.basis = learned ? 'device' : 'none';
        }
      } else {
        view.basis = 'threshold';
        view.band = { low: null, high: p.threshold === null ? 0 : p.threshold - 1 };
      }
      metrics.push(view);
    }
    return {
      deviceId,
      node: this.d.nodeId,
      group: device.type,
      tracked: s !== undefined,
      counters: Object.fromEntries(COUNTERS.map((m) => [m, s ? engine.counterValue(s, m, 60) : 0])),
      metrics,
      gates: s
        ? engine.gates.of(s.subject).map((g) => ({
            ruleId: g.ruleId,
            state: g.state,
            since: g.since,
            lastBreachAt: g.lastBreachAt,
            evidence: g.evidence,
          }))
        : [],
    };
  }

  async #stored(
    orgId: string,
    deviceId: string,
  ): Promise<Pick<DetectDeviceState, 'flood' | 'ports'>> {
    const out: Pick<DetectDeviceState, 'flood' | 'ports'> = { flood: undefined, ports: undefined };
    for (const r of await this.d.store.getBaselines(orgId, deviceId)) {
      if (r.key === 'message_flood') out.flood = Baseline.parse(r.data);
      if (r.key === 'listening_ports') out.ports = parsePorts(r.data);
    }
    return out;
  }
}

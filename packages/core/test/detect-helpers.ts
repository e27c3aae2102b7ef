/** Detection test fixtures: an in-memory DetectStore, recorded alerts, an engine on a fake clock. */
import {
  DetectEngine,
  createMemoryEvents,
  type DetectAlerts,
  type DetectBaselineRecord,
  type DetectRuleId,
  type DetectRuleSettingRecord,
  type DetectStore,
  type DomainEvent,
  type RuleUpdate,
} from '@bulwark/core';

/** A clock the test moves. */
export class TestClock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
}

/** DetectStore in memory (what the SQL stores do, for the engine's unit tests). */
export function memoryDetectStore(): DetectStore & {
  baselines: Map<string, DetectBaselineRecord>;
} {
  const settings = new Map<string, DetectRuleSettingRecord>();
  const baselines = new Map<string, DetectBaselineRecord>();
  return {
    baselines,
    async listRuleSettings(orgId) {
      return [...settings.values()].filter((r) => r.orgId === orgId);
    },
    async putRuleSetting(rec) {
      settings.set(`${rec.orgId}|${rec.ruleId}`, rec);
    },
    async getBaselines(orgId, deviceId) {
      return [...baselines.values()].filter((r) => r.orgId === orgId && r.deviceId === deviceId);
    },
    async putBaselines(rows) {
      for (const r of rows) baselines.set(`${r.orgId}|${r.deviceId}|${r.key}`, r);
    },
  };
}

/** One alert the engine opened or resolved. */
export interface AlertCall {
  op: 'open' | 'resolve';
  orgId: string;
  deviceId: string | null;
  ruleId: DetectRuleId;
  evidence?: Record<string, unknown>;
}

/** Alerts that keep one open per device and rule, as the store does. */
export function recordingAlerts(): DetectAlerts & { calls: AlertCall[] } {
  const open = new Set<string>();
  const calls: AlertCall[] = [];
  return {
    calls,
    async open(orgId, deviceId, ruleId, _severity, evidence, subject) {
      const key = `${orgId}|${deviceId ?? subject}|${ruleId}`;
      if (open.has(key)) return false;
      open.add(key);
      calls.push({ op: 'open', orgId, deviceId, ruleId, evidence: { ...evidence } });
      return true;
    },
    async resolve(orgId, deviceId, ruleId, subject) {
      const key = `${orgId}|${deviceId ?? subject}|${ruleId}`;
      if (!open.delete(key)) return false;
      calls.push({ op: 'resolve', orgId, deviceId, ruleId });
      return true;
    },
  };
}

/** An engine with its fakes; `types` gives devices their type (group). */
export function testEngine(
  o: {
    store?: ReturnType<typeof memoryDetectStore>;
    clock?: TestClock;
    types?: Record<string, string>;
    keys?: Record<string, string>;
    /** The hub operator's organization (unattributable failures go there). */
    operator?: string;
  } = {},
) {
  const clock = o.clock ?? new TestClock();
  const store = o.store ?? memoryDetectStore();
  const events = createMemoryEvents({ nodeId: 'n1' });
  const seen: DomainEvent[] = [];
  events.listen((e) => seen.push(e));
  const alerts = recordingAlerts();
  const errors: unknown[] = [];
  const engine = new DetectEngine({
    clock,
    events,
    store,
    alerts,
    nodeId: 'n1',
    deviceType: async (_org, id) => o.types?.[id] ?? 'sensor',
    resolveSubject: async (subject) => {
      const id = subject.replace(/^device:/, '');
      const orgId = o.keys?.[id];
      return orgId ? { orgId, deviceId: id } : undefined;
    },
    ...(o.operator !== undefined ? { operatorOrgId: async () => o.operator } : {}),
    onError: (err) => errors.push(err),
  });
  engine.start();
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    engine,
    clock,
    store,
    events,
    seen,
    alerts,
    errors,
    settle,
    fired: (): DomainEvent[] => seen.filter((e) => e.type === 'detect.fired'),
    /** Changes a rule for an organization (as the service does). */
    async tune(orgId: string, ruleId: DetectRuleId, update: RuleUpdate) {
      await store.putRuleSetting({
        orgId,
        ruleId,
        settings: JSON.stringify(update),
        updatedBy: null,
        updatedAt: clock.now(),
      });
      engine.settings.invalidate(orgId);
      await engine.settings.load(orgId);
    },
    /** Moves the clock in 10 s steps, ticking at each, running `each` before every tick. */
    async run(ms: number, each?: (step: number) => void) {
      const steps = Math.round(ms / 10_000);
      for (let i = 0; i < steps; i++) {
        each?.(i);
        await settle();
        clock.t += 10_000;
        await engine.tick();
        await settle();
      }
    },
  };
}

/** A deterministic pseudo-random source (mulberry32), so "noise" is the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The detection engine of one hub node (decision 0034). It counts, per device and per source
 * address, in 10 s buckets: messages and bytes a device published (told by the ingest path),
 * connections, cross-source take-overs, authorization denials and renewals (domain events from
 * every node), authentication failures per source (events), and what the agent reports (its
 * listening ports, connections outside its allowlist). Rules read the counters: static thresholds
 * at once, learned baselines at each window, and one gate per rule and subject suppresses
 * repeats. Baselines are persisted per device, so they survive a restart and follow a device that
 * moves to another node.
 */
import type { DeviceEvent, DeviceMetrics } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DetectStore } from '../ports/detect.js';
import type { DetectEvidence, DomainEvent, DomainEvents, StopListening } from '../ports/events.js';
import { Baseline, MIN_SAMPLES, bandOf, groupStats, type BaselineStats } from './baseline.js';
import { BUCKET_MS, BucketCounter, bucketOf } from './buckets.js';
import type { DetectAlerts } from './detect-alerts.js';
import { Gates, type DetectTarget, type Gate } from './gates.js';
import { OrgRuleSettings } from './org-settings.js';
import { DETECT_RULES, type DetectRuleId, type RuleParams } from './rules.js';

/** A device idle this long (and without an open alert) is forgotten; its baselines are kept. */
const IDLE_MS = 20 * 60_000;
/** Dirty baselines are written this often (and when the engine stops). */
const PERSIST_MS = 60_000;
/** Sources tracked at once (the oldest are forgotten first). */
const MAX_SOURCES = 10_000;
/** A group's baseline needs this many learned members. */
const MIN_GROUP_MEMBERS = 5;
/** Evidence lists (sources, subjects, ports) are cut to this many. */
const EVIDENCE_LIST = 10;
/** Ports remembered per device (the agent reports at most 1,024). */
const MAX_PORTS = 1024;

/** Counters of one device, by metric. */
type DeviceMetric =
  | 'messages_in'
  | 'bytes_in'
  | 'connects'
  | 'cross_source_takeovers'
  | 'authz_denied'
  | 'renewals'
  | 'disallowed_connections';

/** What the engine keeps of one device. */
export interface DetectDeviceState {
  orgId: string;
  deviceId: string;
  subject: string;
  /** Its type (the baseline group), once loaded. */
  group: string | null;
  loaded: boolean;
  loading: Promise<void>;
  lastSeen: number;
  messages: BucketCounter;
  bytes: BucketCounter;
  counters: Map<DeviceMetric, BucketCounter>;
  flood: Baseline | undefined;
  /** The last flood window learned (or skipped). */
  floodWindow: number;
  ports: { known: Set<number>; firstAt: number } | undefined;
  /** Recent source addresses (for evidence). */
  sources: string[];
  dirty: boolean;
}

interface SourceState {
  source: string;
  failures: BucketCounter;
  subjects: string[];
  lastSeen: number;
}

/** What the engine needs. */
export interface DetectEngineDeps {
  clock: Clock;
  events: DomainEvents;
  store: DetectStore;
  alerts: DetectAlerts;
  /** A device's type (its baseline group); undefined when it does not exist. */
  deviceType(orgId: string, deviceId: string): Promise<string | undefined>;
  /** The device a refused credential claimed (`device:<id>`), when it is one. */
  resolveSubject(subject: string): Promise<{ orgId: string; deviceId: string } | undefined>;
  /**
   * This node's id: a device's edge events count where they happened (the node that holds its
   * session and its counters); authentication failures count from every node.
   */
  nodeId?: string;
  onError?: (err: unknown, what: string) => void;
}

const deviceSubject = (orgId: string, deviceId: string) => `device:${orgId}:${deviceId}`;
const remember = (list: string[], v: string) => {
  if (list.includes(v)) return;
  list.push(v);
  if (list.length > EVIDENCE_LIST) list.shift();
};
const windowBuckets = (p: RuleParams) => Math.ceil((p.windowSeconds * 1000) / BUCKET_MS);

/** The detection engine of one node. */
export class DetectEngine {
  readonly #d: DetectEngineDeps;
  readonly settings: OrgRuleSettings;
  readonly gates = new Gates();
  readonly #devices = new Map<string, DetectDeviceState>();
  readonly #sources = new Map<string, SourceState>();
  /** Devices that published since the last tick (their flood rule is judged then). */
  readonly #dirty = new Set<DetectDeviceState>();
  /** Per group (org + type): its learned flood baseline, recomputed each pass. */
  #groups = new Map<string, BaselineStats>();
  #lastBucket = 0;
  #lastPersist = 0;
  #unlisten: StopListening | undefined;
  /** Rules fired (gates opened) since start. */
  fired = 0;
  /** Where failures of the engine's background work go (the hub logs them). */
  onError: ((err: unknown, what: string) => void) | undefined;

  constructor(d: DetectEngineDeps) {
    this.#d = d;
    this.onError = d.onError;
    this.settings = new OrgRuleSettings({ store: d.store, clock: d.clock });
    this.#lastPersist = d.clock.now();
  }

  /** Subscribes to the domain events (every node's). */
  start(): void {
    this.#unlisten ??= this.#d.events.listen((e) => this.#onEvent(e));
  }

  /** Stops listening and writes what it learned. */
  async stop(): Promise<void> {
    this.#unlisten?.();
    this.#unlisten = undefined;
    await this.persist(true);
  }

  // ── observations ─────────────────────────────────────────────────────────────────────────────

  /** A device published a message of `bytes` (the ingest path, every protocol). Hot path. */
  message(orgId: string, deviceId: string, bytes: number): void {
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    s.messages.add(now);
    s.bytes.add(now, bytes);
    this.#dirty.add(s);
  }

  /** The agent's health snapshot: its listening ports. */
  async metrics(orgId: string, deviceId: string, m: DeviceMetrics): Promise<void> {
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    await s.loading;
    const p = await this.settings.params(orgId, 'new_listening_port');
    if (!p.enabled) return;
    const ports = m.listeningPorts;
    if (!s.ports) {
      s.ports = { known: new Set(ports.slice(0, MAX_PORTS)), firstAt: now };
      s.dirty = true;
      return;
    }
    const known = s.ports.known;
    const fresh = [...new Set(ports)].filter((x) => !known.has(x));
    if (fresh.length === 0) return;
    const learning = now - s.ports.firstAt < (p.learningMinutes ?? 0) * 60_000;
    const before = [...known].sort((a, b) => a - b);
    for (const x of fresh) if (known.size < MAX_PORTS) known.add(x);
    s.dirty = true;
    if (learning) return;
    this.#breach('new_listening_port', s, now, {
      metric: 'listening_ports',
      windowSeconds: p.windowSeconds,
      observed: fresh.length,
      expected: { low: null, high: 0 },
      basis: 'known_set',
      newPorts: fresh.sort((a, b) => a - b).slice(0, EVIDENCE_LIST),
      knownPorts: before.slice(0, 50),
      reportedAt: m.at,
    });
  }

  /** Events the agent reported: a connection outside its allowlist fires at once. */
  async deviceEvents(
    orgId: string,
    deviceId: string,
    events: readonly DeviceEvent[],
  ): Promise<void> {
    const hits = events.filter((e) => e.kind === 'connection_not_allowed');
    if (hits.length === 0) return;
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    const c = this.#counter(s, 'disallowed_connections');
    c.add(now, hits.length);
    const p = await this.settings.params(orgId, 'disallowed_connection');
    if (!p.enabled) return;
    const destinations = hits
      .map((e) =>
        `${JSON.stringify(e.detail['remoteAddress'] ?? null)}:${JSON.stringify(e.detail['remotePort'] ?? null)}`.replace(
          /"/g,
          '',
        ),
      )
      .slice(0, EVIDENCE_LIST);
    this.#breach('disallowed_connection', s, now, {
      metric: 'disallowed_connections',
      windowSeconds: p.windowSeconds,
      observed: c.sliding(now, p.windowSeconds * 1000),
      expected: { low: null, high: 0 },
      basis: 'event',
      destinations,
      reportedAt: hits[0]!.at,
    });
  }

  #onEvent(e: DomainEvent): void {
    try {
      if (e.type === 'auth.failed') {
        this.#authFailed(e.source, e.subject, e.orgId);
        return;
      }
      // Another node's device: that node counts it (and reads its baselines when it arrives here).
      if (e.origin !== undefined && this.#d.nodeId !== undefined && e.origin !== this.#d.nodeId)
        return;
      switch (e.type) {
        case 'device.connected': {
          const now = this.#d.clock.now();
          const s = this.#device(e.orgId, e.deviceId, now);
          remember(s.sources, e.source);
          this.#counter(s, 'connects').add(now);
          this.#threshold('connection_churn', s, 'connects', now, { sources: [...s.sources] });
          return;
        }
        case 'device.session_taken_over': {
          if (hostOf(e.previousSource) === hostOf(e.source)) return; // a reconnect
          const now = this.#d.clock.now();
          const s = this.#device(e.orgId, e.deviceId, now);
          remember(s.sources, e.previousSource);
          remember(s.sources, e.source);
          this.#counter(s, 'cross_source_takeovers').add(now);
          this.#threshold('cloned_certificate', s, 'cross_source_takeovers', now, {
            sources: [...s.sources],
            transport: e.transport,
          });
          return;
        }
        case 'authz.denied':
          if (e.principal.type === 'device') {
            const now = this.#d.clock.now();
            this.#counter(this.#device(e.orgId, e.principal.id, now), 'authz_denied').add(now);
          }
          return;
        case 'certificate.renewed': {
          const now = this.#d.clock.now();
          this.#counter(this.#device(e.orgId, e.deviceId, now), 'renewals').add(now);
          return;
        }
        default:
          return;
      }
    } catch (err) {
      this.onError?.(err, `event ${e.type}`);
    }
  }

  #authFailed(source: string, subject: string | null, orgId: string | null): void {
    const now = this.#d.clock.now();
    let s = this.#sources.get(source);
    if (!s) {
      if (this.#sources.size >= MAX_SOURCES)
        this.#sources.delete(this.#sources.keys().next().value!);
      s = { source, failures: new BucketCounter(90), subjects: [], lastSeen: now };
      this.#sources.set(source, s);
    }
    s.failures.add(now);
    s.lastSeen = now;
    if (subject !== null) remember(s.subjects, subject);
    const src = s;
    void this.#judgeSource(src, subject, orgId, now).catch((err: unknown) =>
      this.onError?.(err, 'auth_bruteforce'),
    );
  }

  /** The source's failures against the threshold of the organization the credential claimed. */
  async #judgeSource(
    s: SourceState,
    subject: string | null,
    orgId: string | null,
    now: number,
  ): Promise<void> {
    const gateSubject = `source:${s.source}`;
    const open = this.gates.get('auth_bruteforce', gateSubject);
    if (open?.state === 'open') open.lastBreachAt = now;
    const target: DetectTarget = (subject !== null
      ? await this.#d.resolveSubject(subject)
      : undefined) ?? { orgId, deviceId: null };
    const p =
      target.orgId !== null
        ? await this.settings.params(target.orgId, 'auth_bruteforce')
        : DETECT_RULES.auth_bruteforce.defaults;
    if (!p.enabled || p.threshold === null) return;
    const observed = s.failures.sliding(now, p.windowSeconds * 1000);
    if (observed < p.threshold) return;
    this.#open('auth_bruteforce', gateSubject, target, now, {
      metric: 'auth_failures',
      windowSeconds: p.windowSeconds,
      observed,
      expected: { low: null, high: p.threshold - 1 },
      basis: 'threshold',
      source: s.source,
      subjects: [...s.subjects],
    });
  }

  /** A static threshold rule of a device, judged when its counter moves. */
  #threshold(
    ruleId: DetectRuleId,
    s: DetectDeviceState,
    metric: DeviceMetric,
    now: number,
    facts: Record<string, string | string[]>,
  ): void {
    void this.settings
      .params(s.orgId, ruleId)
      .then((p) => {
        if (!p.enabled || p.threshold === null) return;
        const c = this.#counter(s, metric);
        c.grow(windowBuckets(p) + 1);
        const observed = c.sliding(now, p.windowSeconds * 1000);
        if (observed < p.threshold) return;
        this.#breach(ruleId, s, now, {
          metric,
          windowSeconds: p.windowSeconds,
          observed,
          expected: { low: null, high: p.threshold - 1 },
          basis: 'threshold',
          ...facts,
        });
      })
      .catch((err: unknown) => this.onError?.(err, ruleId));
  }

  // ── the clock ────────────────────────────────────────────────────────────────────────────────

  /**
   * Judges the devices that published since the last tick (message flood), and at each new
   * bucket learns closed windows, resolves quiet gates, forgets idle devices and writes dirty
   * baselines. The hub calls it every second; tests call it after moving their clock.
   */
  async tick(): Promise<void> {
    const now = this.#d.clock.now();
    for (const s of this.#dirty) this.#judgeFlood(s, now);
    this.#dirty.clear();
    const bucket = bucketOf(now);
    if (bucket === this.#lastBucket) return;
    this.#lastBucket = bucket;
    this.#learn(now);
    await this.#resolveQuiet(now);
    this.#evict(now);
    if (now - this.#lastPersist >= PERSIST_MS) await this.persist();
  }

  #judgeFlood(s: DetectDeviceState, now: number): void {
    const p = this.settings.cached(s.orgId, 'message_flood');
    if (!p?.enabled) return;
    s.messages.grow(windowBuckets(p) + 2);
    const observed = s.messages.sliding(now, p.windowSeconds * 1000);
    const band = this.floodBand(s, p, now);
    const ceiling = p.threshold ?? Infinity;
    if (observed >= ceiling) {
      this.#breach('message_flood', s, now, {
        metric: 'messages_in',
        windowSeconds: p.windowSeconds,
        observed,
        expected: { low: null, high: ceiling - 1 },
        basis: 'threshold',
      });
    } else if (band.basis !== 'none' && observed > band.high!) {
      this.#breach('message_flood', s, now, {
        metric: 'messages_in',
        windowSeconds: p.windowSeconds,
        observed,
        expected: { low: band.low, high: band.high },
        basis: band.basis,
        median: band.stats!.median,
        mad: band.stats!.mad,
        samples: band.stats!.samples,
      });
    }
  }

  /** The band a device's messages per window are held to, and where it comes from. */
  floodBand(
    s: DetectDeviceState,
    p: RuleParams,
    now: number,
  ): {
    basis: 'device' | 'group' | 'none';
    low: number | null;
    high: number | null;
    stats?: BaselineStats;
  } {
    const learningMs = (p.learningMinutes ?? 0) * 60_000;
    let basis: 'device' | 'group' | 'none' = 'none';
    let stats: BaselineStats | undefined;
    if (s.flood?.learned(now, learningMs)) {
      basis = 'device';
      stats = s.flood.stats();
    } else if (s.group !== null) {
      stats = this.#groups.get(`${s.orgId}|${s.group}`);
      if (stats) basis = 'group';
    }
    if (!stats) return { basis: 'none', low: null, high: null };
    const band = bandOf(stats, p.k ?? 0, p.minDeviation ?? 0);
    return { basis, ...band, stats };
  }

  /** Learns every device's closed flood windows (only active ones, never while alerting). */
  #learn(now: number): void {
    const groups = new Map<string, BaselineStats[]>();
    for (const s of this.#devices.values()) {
      const p = this.settings.cached(s.orgId, 'message_flood');
      if (!p?.enabled || !s.loaded) continue;
      const w = p.windowSeconds * 1000;
      const current = Math.floor(now / w);
      const alerting = this.gates.get('message_flood', s.subject)?.state === 'open';
      // Only the window that just closed is still wholly in the ring (the pass runs every bucket).
      for (let i = Math.max(s.floodWindow + 1, current - 1); i < current; i++) {
        const from = bucketOf(i * w);
        const value = s.messages.sumBuckets(from, from + windowBuckets(p) - 1);
        // Windows without a message say nothing about its rate (offline, idle), and what it sends
        // while a flood alert is open is not learned as normal.
        if (value === 0 || alerting) continue;
        s.flood ??= new Baseline({ s: [], f: now });
        s.flood.push(value);
        s.dirty = true;
      }
      s.floodWindow = Math.max(s.floodWindow, current - 1);
      if (s.group !== null && s.flood?.learned(now, (p.learningMinutes ?? 0) * 60_000)) {
        const key = `${s.orgId}|${s.group}`;
        const list = groups.get(key) ?? [];
        list.push(s.flood.stats());
        groups.set(key, list);
      }
    }
    const next = new Map<string, BaselineStats>();
    for (const [key, members] of groups) {
      if (members.length < MIN_GROUP_MEMBERS) continue;
      const g = groupStats(members);
      if (g && g.samples >= MIN_SAMPLES) next.set(key, g);
    }
    this.#groups = next;
  }

  async #resolveQuiet(now: number): Promise<void> {
    const resolved = this.gates.sweep(now, (ruleId, target) => {
      const p =
        (target.orgId !== null ? this.settings.cached(target.orgId, ruleId) : undefined) ??
        DETECT_RULES[ruleId].defaults;
      return { resolveMs: p.resolveAfterSeconds * 1000, cooldownMs: p.cooldownSeconds * 1000 };
    });
    for (const g of resolved) {
      try {
        await this.#resolve(g, now);
      } catch (err) {
        this.onError?.(err, `resolve ${g.ruleId}`);
      }
    }
  }

  #evict(now: number): void {
    for (const [key, s] of this.#devices) {
      if (now - s.lastSeen < IDLE_MS || this.gates.holds(s.subject)) continue;
      if (s.dirty) continue; // written by the next persist, then forgotten
      this.#devices.delete(key);
    }
    for (const [key, s] of this.#sources) {
      if (now - s.lastSeen >= IDLE_MS && !this.gates.holds(`source:${key}`))
        this.#sources.delete(key);
    }
  }

  /** Writes dirty baselines (all of them when stopping). */
  async persist(final = false): Promise<void> {
    const now = this.#d.clock.now();
    this.#lastPersist = now;
    const rows = [];
    for (const s of this.#devices.values()) {
      if (!s.dirty || !s.loaded) continue;
      s.dirty = false;
      if (s.flood)
        rows.push({
          orgId: s.orgId,
          deviceId: s.deviceId,
          key: 'message_flood',
          data: JSON.stringify(s.flood.toData()),
          updatedAt: now,
        });
      if (s.ports)
        rows.push({
          orgId: s.orgId,
          deviceId: s.deviceId,
          key: 'listening_ports',
          data: JSON.stringify({ p: [...s.ports.known].sort((a, b) => a - b), f: s.ports.firstAt }),
          updatedAt: now,
        });
    }
    if (rows.length === 0) return;
    try {
      await this.#d.store.putBaselines(rows);
    } catch (err) {
      // One bad row (a device deleted meanwhile) must not lose the others: row by row.
      let failed = 0;
      for (const row of rows) await this.#d.store.putBaselines([row]).catch(() => failed++);
      if (failed > 0) this.onError?.(err, final ? 'persist (stop)' : 'persist');
    }
  }

  // ── firing ───────────────────────────────────────────────────────────────────────────────────

  #breach(ruleId: DetectRuleId, s: DetectDeviceState, now: number, evidence: DetectEvidence): void {
    this.#open(ruleId, s.subject, { orgId: s.orgId, deviceId: s.deviceId }, now, evidence);
  }

  #open(
    ruleId: DetectRuleId,
    subject: string,
    target: DetectTarget,
    now: number,
    evidence: DetectEvidence,
  ): void {
    if (this.gates.breach(ruleId, subject, now, evidence, target) !== 'fired') return;
    this.fired++;
    void this.#fire(ruleId, subject, target, now, evidence).catch((err: unknown) =>
      this.onError?.(err, `fire ${ruleId}`),
    );
  }

  async #fire(
    ruleId: DetectRuleId,
    subject: string,
    target: DetectTarget,
    now: number,
    evidence: DetectEvidence,
  ): Promise<void> {
    const severity = DETECT_RULES[ruleId].severity;
    // One alert per device and rule across nodes: the node whose alert opened tells the rest.
    if (target.orgId !== null && target.deviceId !== null) {
      if (!(await this.#d.alerts.open(target.orgId, target.deviceId, ruleId, severity, evidence)))
        return;
    }
    this.#d.events.emit({
      type: 'detect.fired',
      orgId: target.orgId,
      at: now,
      deviceId: target.deviceId,
      ruleId,
      severity,
      subject,
      evidence,
    });
  }

  async #resolve(g: Gate, now: number): Promise<void> {
    const { orgId, deviceId } = g.target;
    if (orgId !== null && deviceId !== null) {
      if (!(await this.#d.alerts.resolve(orgId, deviceId, g.ruleId))) return;
    }
    this.#d.events.emit({
      type: 'detect.resolved',
      orgId,
      at: now,
      deviceId,
      ruleId: g.ruleId,
      subject: g.subject,
    });
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────────

  /** The device's state, created (and its baselines loaded) on first sight. */
  #device(orgId: string, deviceId: string, now: number): DetectDeviceState {
    const key = deviceSubject(orgId, deviceId);
    const s = this.#devices.get(key);
    if (s) {
      s.lastSeen = now;
      return s;
    }
    const p = this.settings.cached(orgId, 'message_flood') ?? DETECT_RULES.message_flood.defaults;
    const created: DetectDeviceState = {
      orgId,
      deviceId,
      subject: key,
      group: null,
      loaded: false,
      loading: Promise.resolve(),
      lastSeen: now,
      messages: new BucketCounter(windowBuckets(p) + 2),
      bytes: new BucketCounter(windowBuckets(p) + 2),
      counters: new Map(),
      flood: undefined,
      floodWindow: Math.floor(now / (p.windowSeconds * 1000)),
      ports: undefined,
      sources: [],
      dirty: false,
    };
    created.loading = this.#load(created);
    this.#devices.set(key, created);
    return created;
  }

  async #load(s: DetectDeviceState): Promise<void> {
    try {
      const [type, rows] = await Promise.all([
        this.#d.deviceType(s.orgId, s.deviceId),
        this.#d.store.getBaselines(s.orgId, s.deviceId),
        this.settings.load(s.orgId),
      ]);
      s.group = type ?? 'unknown';
      for (const r of rows) {
        if (r.key === 'message_flood') s.flood = Baseline.parse(r.data) ?? s.flood;
        if (r.key === 'listening_ports') s.ports = parsePorts(r.data) ?? s.ports;
      }
    } catch (err) {
      this.onError?.(err, 'load baselines');
    } finally {
      s.loaded = true;
    }
  }

  #counter(s: DetectDeviceState, metric: DeviceMetric): BucketCounter {
    let c = s.counters.get(metric);
    if (!c) {
      c = new BucketCounter(31);
      s.counters.set(metric, c);
    }
    return c;
  }

  /** This node's state of a device, if it tracks it (for the API's view). */
  tracked(orgId: string, deviceId: string): DetectDeviceState | undefined {
    return this.#devices.get(deviceSubject(orgId, deviceId));
  }

  /** Counter value of a device metric over a window (for the API's view). */
  counterValue(s: DetectDeviceState, metric: string, windowSeconds: number): number {
    const now = this.#d.clock.now();
    if (metric === 'messages_in') return s.messages.sliding(now, windowSeconds * 1000);
    if (metric === 'bytes_in') return s.bytes.sliding(now, windowSeconds * 1000);
    return s.counters.get(metric as DeviceMetric)?.sliding(now, windowSeconds * 1000) ?? 0;
  }

  /** How many devices and sources this node tracks. */
  get size(): { devices: number; sources: number; gates: number } {
    return { devices: this.#devices.size, sources: this.#sources.size, gates: this.gates.size };
  }
}

/** The host of a source (`addr` or `addr:port`; IPv6 in brackets or bare). */
function hostOf(source: string): string {
  const bracket = /^\[([^\]]+)\]/.exec(source);
  if (bracket) return bracket[1]!;
  const colons = source.split(':').length - 1;
  return colons === 1 ? source.slice(0, source.indexOf(':')) : source;
}

/** The stored set of listening ports. */
export function parsePorts(json: string): { known: Set<number>; firstAt: number } | undefined {
  try {
    const d = JSON.parse(json) as { p?: unknown; f?: unknown };
    if (!Array.isArray(d.p) || typeof d.f !== 'number') return undefined;
    return {
      known: new Set(d.p.filter((x): x is number => Number.isInteger(x)).slice(0, MAX_PORTS)),
      firstAt: d.f,
    };
  } catch {
    return undefined;
  }
}

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
import type { CertificateRecord } from '../ports/records.js';
import type { DetectStore } from '../ports/detect.js';
import type { DetectEvidence, DomainEvent, DomainEvents, StopListening } from '../ports/events.js';
import type { BaselineStats } from './baseline.js';
import { BucketCounter, bucketOf } from './buckets.js';
import type { DetectAlerts } from './detect-alerts.js';
import {
  applyStored,
  baselineRows,
  counterOf,
  counterValue,
  deviceSubject,
  hostOf,
  newDeviceState,
  remember,
  windowBuckets,
  type DetectDeviceState,
  type DeviceMetric,
} from './device-state.js';
import {
  floodBand,
  floodEvidence,
  groupBaselines,
  learnFloodWindows,
  type FloodBand,
} from './flood.js';
import { disallowedEvidence, judgePorts } from './agent-reports.js';
import { Gates, type DetectTarget, type Gate } from './gates.js';
import { OrgRuleSettings } from './org-settings.js';
import { DETECT_RULES, type DetectRuleId, type RuleParams } from './rules.js';

/** A device idle this long (and without an open alert) is forgotten; its baselines are kept. */
const IDLE_MS = 20 * 60_000;
/** Dirty baselines are written this often (and when the engine stops). */
const PERSIST_MS = 60_000;
/** Sources tracked at once (the oldest are forgotten first). */
const MAX_SOURCES = 10_000;
/** How long the device a failed credential claimed is remembered (one lookup per guesser). */
const SUBJECT_TTL_MS = 60_000;

/** Failures from one source against one organization (its own view of the guessing). */
interface SourceOrgState {
  failures: BucketCounter;
  /** The identities tried against this organization (never the secrets). */
  subjects: string[];
}

interface SourceState {
  source: string;
  /** Per organization the failures were attributed to (the hub operator's for unattributed ones). */
  byOrg: Map<string, SourceOrgState>;
  lastSeen: number;
}

/** Organizations one source's failures are counted against at once (the oldest are forgotten). */
const MAX_ORGS_PER_SOURCE = 64;
/** An attempted identity is cut to this many characters in evidence (it is attacker-chosen). */
const MAX_SUBJECT_CHARS = 128;
/** How long the hub operator's organization is remembered. */
const OPERATOR_TTL_MS = 60_000;

/** The gate subject of one source's failures against one organization. */
const sourceSubject = (source: string, orgId: string): string => `source:${source}|org:${orgId}`;

/** What the engine needs. */
export interface DetectEngineDeps {
  /**
   * False: monitoring is switched off on this node (`--detect off`): the engine counts, learns
   * and raises nothing, and does not listen to events. Default true.
   */
  enabled?: boolean;
  clock: Clock;
  events: DomainEvents;
  store: DetectStore;
  alerts: DetectAlerts;
  /** A device's type (its baseline group); undefined when it does not exist. */
  deviceType(orgId: string, deviceId: string): Promise<string | undefined>;
  /**
   * The organization (and device) a refused credential's claimed identity belongs to, when it
   * names one that exists: `device:<id>` a device of an organization, `key:<id>` an API key.
   */
  resolveSubject(subject: string): Promise<{ orgId: string; deviceId: string | null } | undefined>;
  /**
   * The hub operator's organization (the one that sees hub-wide findings, `--checks-hub-org`):
   * authentication failures no organization can be told about go there.
   */
  operatorOrgId?(): Promise<string | undefined>;
  /** A device's certificates (renewal_outside_schedule reads their lineage and lifetimes). */
  certificates?(orgId: string, deviceId: string): Promise<readonly CertificateRecord[]>;
  /**
   * This node's id: a device's edge events count where they happened (the node that holds its
   * session and its counters); authentication failures count from every node.
   */
  nodeId?: string;
  onError?: (err: unknown, what: string) => void;
}

/** The detection engine of one node. */
export class DetectEngine {
  readonly #d: DetectEngineDeps;
  readonly settings: OrgRuleSettings;
  readonly gates = new Gates();
  readonly #devices = new Map<string, DetectDeviceState>();
  readonly #sources = new Map<string, SourceState>();
  /** Claimed subjects of failed credentials → the device they name (see #resolve). */
  readonly #subjects = new Map<
    string,
    { at: number; target: { orgId: string; deviceId: string | null } | undefined }
  >();
  #operator: { at: number; orgId: string | undefined } | undefined;
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

  /** Is monitoring on for this node (`--detect`)? */
  get enabled(): boolean {
    return this.#d.enabled !== false;
  }

  /** Subscribes to the domain events (every node's). */
  start(): void {
    if (!this.enabled) return;
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
    if (!this.enabled) return;
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    s.messages.add(now);
    s.bytes.add(now, bytes);
    this.#dirty.add(s);
  }

  /** The agent's health snapshot: its listening ports. */
  async metrics(orgId: string, deviceId: string, m: DeviceMetrics): Promise<void> {
    if (!this.enabled) return;
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    await s.loading;
    const p = await this.settings.params(orgId, 'new_listening_port');
    if (!p.enabled) return;
    const evidence = judgePorts(s, m.listeningPorts, m.at, p, now);
    if (evidence) this.#breach('new_listening_port', s, now, evidence);
  }

  /** Events the agent reported: a connection outside its allowlist fires at once. */
  async deviceEvents(
    orgId: string,
    deviceId: string,
    events: readonly DeviceEvent[],
  ): Promise<void> {
    if (!this.enabled) return;
    const hits = events.filter((e) => e.kind === 'connection_not_allowed');
    if (hits.length === 0) return;
    const now = this.#d.clock.now();
    const s = this.#device(orgId, deviceId, now);
    const c = counterOf(s, 'disallowed_connections');
    c.add(now, hits.length);
    const p = await this.settings.params(orgId, 'disallowed_connection');
    if (!p.enabled) return;
    this.#breach(
      'disallowed_connection',
      s,
      now,
      disallowedEvidence(hits, c.sliding(now, p.windowSeconds * 1000), p),
    );
  }

  #onEvent(e: DomainEvent): void {
    try {
      if (e.type === 'auth.failed') {
        this.#authFailed(e.source, e.subject, e.orgId, e.reason === 'locked');
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
          counterOf(s, 'connects').add(now);
          this.#threshold('connection_churn', s, 'connects', now, { sources: [...s.sources] });
          return;
        }
        case 'device.session_taken_over': {
          if (hostOf(e.previousSource) === hostOf(e.source)) return; // a reconnect
          const now = this.#d.clock.now();
          const s = this.#device(e.orgId, e.deviceId, now);
          remember(s.sources, e.previousSource);
          remember(s.sources, e.source);
          counterOf(s, 'cross_source_takeovers').add(now);
          this.#threshold('cloned_certificate', s, 'cross_source_takeovers', now, {
            sources: [...s.sources],
            transport: e.transport,
          });
          return;
        }
        case 'authz.denied':
          if (e.principal.type === 'device') {
            const now = this.#d.clock.now();
            counterOf(this.#device(e.orgId, e.principal.id, now), 'authz_denied').add(now);
          }
          return;
        case 'certificate.renewed': {
          const now = this.#d.clock.now();
          const s = this.#device(e.orgId, e.deviceId, now);
          counterOf(s, 'renewals').add(now);
          void this.#judgeRenewal(s, e.serial, now).catch((err: unknown) =>
            this.onError?.(err, 'renewal_outside_schedule'),
          );
          return;
        }
        default:
          return;
      }
    } catch (err) {
      this.onError?.(err, `event ${e.type}`);
    }
  }

  /**
   * A failed authentication from `source`. `locked`: the edge throttle locked the source for this
   * subject (told once per lock episode): guessing the throttle had to stop, a brute force however
   * few attempts got through to be counted.
   */
  #authFailed(source: string, subject: string | null, orgId: string | null, locked = false): void {
    const now = this.#d.clock.now();
    let s = this.#sources.get(source);
    if (!s) {
      if (this.#sources.size >= MAX_SOURCES)
        this.#sources.delete(this.#sources.keys().next().value!);
      s = { source, byOrg: new Map(), lastSeen: now };
      this.#sources.set(source, s);
    }
    s.lastSeen = now;
    const src = s;
    void this.#judgeSource(src, subject, orgId, now, locked).catch((err: unknown) =>
      this.onError?.(err, 'auth_bruteforce'),
    );
  }

  /**
   * Counts the failure against the organization it is attributed to, and judges that count by
   * the organization's threshold. Attributed: the claimed identity is a device or key of an
   * organization (a guess naming device X of org A is a failure against org A's device), or the
   * admission check proved the credential an organization's (`orgId`, e.g. a revoked
   * certificate). Anything else — unknown ids, a certificate of no known CA, a malformed key —
   * names no organization truthfully, so it goes to the hub operator's organization: an attacker
   * cannot steer an alert (or its evidence) into an organization by naming ids that are not its.
   * Each organization sees only the identities tried against it.
   */
  async #judgeSource(
    s: SourceState,
    subject: string | null,
    eventOrgId: string | null,
    now: number,
    locked: boolean,
  ): Promise<void> {
    const claimed = subject !== null ? await this.#claimed(subject, now) : undefined;
    const attributed = claimed !== undefined || eventOrgId !== null;
    const orgId = claimed?.orgId ?? eventOrgId ?? (await this.#operatorOrg(now));
    if (orgId === undefined) return; // a hub without any organization yet
    let g = s.byOrg.get(orgId);
    if (!g) {
      if (s.byOrg.size >= MAX_ORGS_PER_SOURCE) s.byOrg.delete(s.byOrg.keys().next().value!);
      g = { failures: new BucketCounter(90), subjects: [] };
      s.byOrg.set(orgId, g);
    }
    if (!locked) g.failures.add(now);
    if (subject !== null) remember(g.subjects, subject.slice(0, MAX_SUBJECT_CHARS));
    const gateSubject = sourceSubject(s.source, orgId);
    const open = this.gates.get('auth_bruteforce', gateSubject);
    if (open?.state === 'open') open.lastBreachAt = now;
    const target: DetectTarget = { orgId, deviceId: claimed?.deviceId ?? null };
    const p = await this.settings.params(orgId, 'auth_bruteforce');
    if (!p.enabled || p.threshold === null) return;
    const observed = g.failures.sliding(now, p.windowSeconds * 1000);
    if (observed < p.threshold && !locked) return;
    this.#open('auth_bruteforce', gateSubject, target, now, {
      metric: 'auth_failures',
      windowSeconds: p.windowSeconds,
      observed,
      expected: { low: null, high: p.threshold - 1 },
      basis: locked ? 'event' : 'threshold',
      ...(locked ? { lockedBy: 'the edge failure throttle' } : {}),
      source: s.source,
      subjects: [...g.subjects],
      // Why this organization sees it: the identities tried were its own, or they named none.
      attribution: attributed ? 'organization' : 'hub_operator',
    });
  }

  /** The hub operator's organization, remembered for a minute. */
  async #operatorOrg(now: number): Promise<string | undefined> {
    if (this.#operator && now - this.#operator.at < OPERATOR_TTL_MS) return this.#operator.orgId;
    const orgId = await this.#d.operatorOrgId?.();
    this.#operator = { at: now, orgId };
    return orgId;
  }

  /** The device a claimed subject names, remembered for a minute (a guesser repeats it). */
  async #claimed(
    subject: string,
    now: number,
  ): Promise<{ orgId: string; deviceId: string | null } | undefined> {
    const hit = this.#subjects.get(subject);
    if (hit && now - hit.at < SUBJECT_TTL_MS) return hit.target;
    const target = await this.#d.resolveSubject(subject);
    this.#subjects.delete(subject);
    if (this.#subjects.size >= MAX_SOURCES)
      this.#subjects.delete(this.#subjects.keys().next().value!);
    this.#subjects.set(subject, { at: now, target });
    return target;
  }

  /**
   * A renewal against the agent's schedule (it renews once `renewal.atFraction`, 2/3 by default,
   * of its certificate's lifetime has passed): too early in the renewed certificate's life, or
   * too many renewals within the window. Read from the stored certificates (renewals are rare; the
   * window may be days), on the node that made the renewal.
   */
  async #judgeRenewal(s: DetectDeviceState, serial: string, now: number): Promise<void> {
    if (!this.#d.certificates) return;
    const p = await this.settings.params(s.orgId, 'renewal_outside_schedule');
    if (!p.enabled) return;
    const certs = await this.#d.certificates(s.orgId, s.deviceId);
    const cert = certs.find((c) => c.serial === serial);
    if (!cert) return;
    const prev = certs.find((c) => c.serial === cert.renewedFrom);
    const renewals = renewalsWithin(certs, p.windowSeconds, now);
    const lifetime = prev ? prev.notAfter - prev.notBefore : 0;
    const used = lifetime > 0 ? (cert.createdAt - prev!.notBefore) / lifetime : null;
    const facts = {
      serial: cert.serial,
      renewedFrom: cert.renewedFrom,
      lifetimeUsed: used === null ? null : Math.round(used * 1000) / 1000,
      renewedFromValidity: prev
        ? {
            notBefore: new Date(prev.notBefore).toISOString(),
            notAfter: new Date(prev.notAfter).toISOString(),
          }
        : null,
      renewals: renewals.slice(-10).map((c) => new Date(c.createdAt).toISOString()),
      schedule:
        "the agent renews once renewal.atFraction (default 2/3) of its certificate's lifetime has passed",
    };
    const early = p.minLifetimeFraction ?? 0;
    if (used !== null && early > 0 && used < early) {
      this.#breach('renewal_outside_schedule', s, now, {
        metric: 'certificate_lifetime_used',
        windowSeconds: p.windowSeconds,
        observed: facts.lifetimeUsed!,
        expected: { low: early, high: null },
        basis: 'threshold',
        ...facts,
      });
      return;
    }
    if (p.threshold !== null && renewals.length >= p.threshold)
      this.#breach('renewal_outside_schedule', s, now, {
        metric: 'renewals',
        windowSeconds: p.windowSeconds,
        observed: renewals.length,
        expected: { low: null, high: p.threshold - 1 },
        basis: 'threshold',
        ...facts,
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
        const c = counterOf(s, metric);
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
    if (!this.enabled) return;
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
    const evidence = floodEvidence(observed, p, this.floodBand(s, p, now));
    if (evidence) this.#breach('message_flood', s, now, evidence);
  }

  /** The band a device's messages per window are held to, and where it comes from. */
  floodBand(s: DetectDeviceState, p: RuleParams, now: number): FloodBand {
    return floodBand(s, p, now, this.#groups);
  }

  /** Learns every device's closed flood windows and recomputes the group baselines. */
  #learn(now: number): void {
    const members = new Map<string, BaselineStats[]>();
    for (const s of this.#devices.values()) {
      const p = this.settings.cached(s.orgId, 'message_flood');
      if (!p?.enabled || !s.loaded) continue;
      const alerting = this.gates.get('message_flood', s.subject)?.state === 'open';
      const learned = learnFloodWindows(s, p, now, alerting);
      if (learned && s.group !== null) {
        const key = `${s.orgId}|${s.group}`;
        members.set(key, [...(members.get(key) ?? []), learned]);
      }
    }
    this.#groups = groupBaselines(members);
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
      if (now - s.lastSeen < IDLE_MS) continue;
      if ([...s.byOrg.keys()].some((org) => this.gates.holds(sourceSubject(key, org)))) continue;
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
      rows.push(...baselineRows(s, now));
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
    // One alert per device (or source) and rule across nodes: the node whose alert opened tells
    // the rest.
    if (target.orgId !== null) {
      const opened = await this.#d.alerts.open(
        target.orgId,
        target.deviceId,
        ruleId,
        severity,
        evidence,
        subject,
      );
      if (!opened) return;
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
    if (orgId !== null) {
      if (!(await this.#d.alerts.resolve(orgId, deviceId, g.ruleId, g.subject))) return;
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
    const created = newDeviceState(orgId, deviceId, now, p);
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
      applyStored(s, type, rows);
    } catch (err) {
      this.onError?.(err, 'load baselines');
    } finally {
      s.loaded = true;
    }
  }

  /** This node's state of a device, if it tracks it (for the API's view). */
  tracked(orgId: string, deviceId: string): DetectDeviceState | undefined {
    return this.#devices.get(deviceSubject(orgId, deviceId));
  }

  /** Counter value of a device metric over a window (for the API's view). */
  counterValue(s: DetectDeviceState, metric: string, windowSeconds: number): number {
    return counterValue(s, metric, windowSeconds, this.#d.clock.now());
  }

  /**
   * A device's certificate renewals within the last `windowSeconds`, counted from the stored
   * certificates as renewal_outside_schedule counts them: its window (a day by default) is longer
   * than the in-memory counters remember (15 min), and a renewal made on another node or before
   * this node started counts too. 0 when the engine reads no certificates.
   */
  async renewalsInWindow(orgId: string, deviceId: string, windowSeconds: number): Promise<number> {
    if (!this.#d.certificates) return 0;
    const certs = await this.#d.certificates(orgId, deviceId);
    return renewalsWithin(certs, windowSeconds, this.#d.clock.now()).length;
  }

  /** How many devices and sources this node tracks. */
  get size(): { devices: number; sources: number; gates: number } {
    return { devices: this.#devices.size, sources: this.#sources.size, gates: this.gates.size };
  }
}

/** The renewals (certificates renewed from another) made in the `windowSeconds` before `now`, oldest first. */
function renewalsWithin<C extends { renewedFrom: string | null; createdAt: number }>(
  certs: readonly C[],
  windowSeconds: number,
  now: number,
): C[] {
  const since = now - windowSeconds * 1000;
  return certs
    .filter((c) => c.renewedFrom !== null && c.createdAt > since && c.createdAt <= now)
    .sort((a, b) => a.createdAt - b.createdAt);
}

import { BulwarkError } from '@bulwark/protocol';
import type {
  AlertActor,
  AlertComment,
  AlertEvidence,
  AlertFilter,
  AlertGroup,
  AlertKind,
  AlertPatch,
  AlertRecord,
  AlertSeverity,
  AlertState,
  RaiseOutcome,
} from '../ports/alerts.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { ALERT_KIND_PATTERN, defaultDedupKey, defaultSeverity } from './kinds.js';

/** What a raiser says about an occurrence (everything but org, kind and evidence is optional). */
export interface RaiseAlert {
  orgId: string;
  deviceId?: string | null;
  kind: AlertKind;
  /** Default: the kind's (kinds.ts). */
  severity?: AlertSeverity;
  /** Default: the kind, humanised, and the device. */
  title?: string;
  evidence?: AlertEvidence;
  /** Occurrences with the same key share one active alert. Default: kind and device. */
  dedupKey?: string;
  /** Default: the kind. */
  groupKey?: string;
}

/** Tunables of the alert lifecycle. */
export interface AlertConfig {
  /**
   * After a resolution, an occurrence with the same dedup key within this long reopens the same
   * alert (quietly: no new notification) instead of raising a new one, so a flapping source keeps
   * one alert whose count grows.
   */
  cooldownMs: number;
  /** The longest mute window (a forgotten mute must not silence an alert for ever). */
  maxMuteMs: number;
}

export const DEFAULT_ALERT_CONFIG: AlertConfig = {
  cooldownMs: 10 * 60_000,
  maxMuteMs: 30 * 24 * 3_600_000,
};

const ACTIVE: readonly AlertState[] = ['open', 'acknowledged'];
/** Keys and group names are bounded so a raiser's input cannot grow rows without limit. */
const MAX_KEY = 200;
const MAX_TITLE = 200;
const MAX_COMMENT = 4000;
/** Evidence beyond this size (as JSON) is refused: it is a summary, not a log. */
const MAX_EVIDENCE_BYTES = 16 * 1024;

const actorId = (a: AlertActor): string => (a.type === 'system' ? 'system' : `${a.type}:${a.id}`);

/**
 * The one owner of alerts: every part that raises or ends one (presence, rollouts, the edge's
 * monitors, detectors) goes through here, and people acknowledge, assign, comment, mute and resolve
 * here. Each change is a domain event (`alert.opened`, `alert.reopened`, `alert.acknowledged`,
 * `alert.resolved`, `alert.changed`) that notifications and the console's live views follow.
 * One alert is active per dedup key at a time (the store enforces it across nodes).
 */
export class AlertService {
  readonly #config: AlertConfig;

  constructor(
    private readonly d: {
      storage: Pick<Storage, 'alerts' | 'memberships'>;
      clock: Clock;
      events?: DomainEvents;
      config?: Partial<AlertConfig>;
    },
  ) {
    this.#config = { ...DEFAULT_ALERT_CONFIG, ...d.config };
  }

  /**
   * Records an occurrence: opens an alert, or counts it on the active alert with the same dedup
   * key (`repeated`), or reopens one resolved within the cool-down (`reopened`).
   */
  async raise(input: RaiseAlert): Promise<{ alert: AlertRecord; outcome: RaiseOutcome }> {
    if (!ALERT_KIND_PATTERN.test(input.kind))
      throw new BulwarkError('validation_failed', `alert kind ${JSON.stringify(input.kind)}`);
    const evidence = input.evidence ?? {};
    if (JSON.stringify(evidence).length > MAX_EVIDENCE_BYTES)
      throw new BulwarkError('validation_failed', 'alert evidence is larger than 16 KiB');
    const deviceId = input.deviceId ?? null;
    const now = this.d.clock.now();
    const candidate: AlertRecord = {
      id: newId(now),
      orgId: input.orgId,
      deviceId,
      kind: input.kind,
      severity: input.severity ?? defaultSeverity(input.kind),
      state: 'open',
      title: (input.title ?? defaultTitle(input.kind, deviceId)).slice(0, MAX_TITLE),
      dedupKey: (input.dedupKey ?? defaultDedupKey(input.kind, deviceId)).slice(0, MAX_KEY),
      groupKey: (input.groupKey ?? input.kind).slice(0, MAX_KEY),
      evidence,
      occurrences: 1,
      openedAt: now,
      lastSeenAt: now,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null,
      assignee: null,
      mutedUntil: null,
      muteReason: null,
      updatedAt: now,
    };
    const reopenSince = this.#config.cooldownMs > 0 ? now - this.#config.cooldownMs : null;
    const r = await this.d.storage.alerts.raise(candidate, reopenSince);
    if (r.outcome !== 'repeated')
      this.#emit(r.outcome === 'opened' ? 'alert.opened' : 'alert.reopened', r.alert, now);
    return r;
  }

  /**
   * Opens an alert unless one with the same dedup key (default: kind and device) is active;
   * returns it when it opened or reopened, undefined when the occurrence was counted on the
   * active one.
   */
  async open(
    orgId: string,
    deviceId: string | null,
    kind: AlertKind,
    evidence: AlertEvidence,
    opts: Omit<RaiseAlert, 'orgId' | 'deviceId' | 'kind' | 'evidence'> = {},
  ): Promise<AlertRecord | undefined> {
    const r = await this.raise({ ...opts, orgId, deviceId, kind, evidence });
    return r.outcome === 'repeated' ? undefined : r.alert;
  }

  /** The condition ended: resolves the device's active alert of that kind; returns 0 or 1. */
  async resolve(orgId: string, deviceId: string | null, kind: AlertKind): Promise<number> {
    return (await this.resolveKey(orgId, defaultDedupKey(kind, deviceId))) ? 1 : 0;
  }

  /** The condition ended: resolves the active alert with this dedup key, if any. */
  async resolveKey(orgId: string, dedupKey: string): Promise<AlertRecord | undefined> {
    const now = this.d.clock.now();
    const a = await this.d.storage.alerts.resolveByKey(orgId, dedupKey, now, 'system');
    if (a) this.#emit('alert.resolved', a, now);
    return a;
  }

  /** One alert of the organization, or not_found (also for another organization's id). */
  async get(orgId: string, id: string): Promise<AlertRecord> {
    const a = await this.d.storage.alerts.get(orgId, id);
    if (!a) throw new BulwarkError('not_found', 'no such alert in this organization');
    return a;
  }

  /** A person owns it now: open → acknowledged. */
  acknowledge(orgId: string, id: string, by: AlertActor): Promise<AlertRecord> {
    const now = this.d.clock.now();
    return this.#change(orgId, id, ['open'], 'alert.acknowledged', {
      state: 'acknowledged',
      acknowledgedAt: now,
      acknowledgedBy: actorId(by),
    });
  }

  /** A person closes it: open or acknowledged → resolved. */
  resolveById(orgId: string, id: string, by: AlertActor): Promise<AlertRecord> {
    return this.#change(orgId, id, ACTIVE, 'alert.resolved', {
      state: 'resolved',
      resolvedAt: this.d.clock.now(),
      resolvedBy: actorId(by),
    });
  }

  /** Assigns an active alert to a member of the organization (null: nobody). */
  async assign(orgId: string, id: string, userId: string | null): Promise<AlertRecord> {
    if (userId !== null && !(await this.d.storage.memberships.get(orgId, userId)))
      throw new BulwarkError('not_found', 'no such user in this organization');
    return this.#change(orgId, id, ACTIVE, 'alert.changed', { assignee: userId });
  }

  /** Holds notifications and escalation of an active alert back for `forMs` (null: unmute). */
  async mute(
    orgId: string,
    id: string,
    forMs: number | null,
    reason: string | null,
  ): Promise<AlertRecord> {
    if (forMs !== null && (forMs <= 0 || forMs > this.#config.maxMuteMs))
      throw new BulwarkError(
        'validation_failed',
        `a mute lasts more than nothing and at most ${this.#config.maxMuteMs / 86_400_000} days`,
      );
    return this.#change(orgId, id, ACTIVE, 'alert.changed', {
      mutedUntil: forMs === null ? null : this.d.clock.now() + forMs,
      muteReason: forMs === null ? null : (reason ?? '').slice(0, MAX_TITLE) || null,
    });
  }

  /** Adds a note to an alert (in any state). */
  async comment(orgId: string, id: string, body: string, by: AlertActor): Promise<AlertComment> {
    await this.get(orgId, id);
    const text = body.trim();
    if (text.length === 0 || text.length > MAX_COMMENT)
      throw new BulwarkError('validation_failed', `a comment has 1 to ${MAX_COMMENT} characters`);
    const now = this.d.clock.now();
    const c: AlertComment = {
      id: newId(now),
      orgId,
      alertId: id,
      author: actorId(by),
      body: text,
      at: now,
    };
    await this.d.storage.alerts.addComment(c);
    return c;
  }

  /** An alert's comments, oldest first (at most 500). */
  async comments(orgId: string, id: string): Promise<AlertComment[]> {
    await this.get(orgId, id);
    return this.d.storage.alerts.comments(orgId, id, 500);
  }

  /** The organization's alerts, newest first. */
  list(orgId: string, filter: AlertFilter, page: PageRequest): Promise<Page<AlertRecord>> {
    return this.d.storage.alerts.list(orgId, filter, page);
  }

  /** Active alerts by group, the most recently seen group first. */
  groups(orgId: string, limit = 100): Promise<AlertGroup[]> {
    return this.d.storage.alerts.groups(orgId, limit);
  }

  async #change(
    orgId: string,
    id: string,
    from: readonly AlertState[],
    type: 'alert.acknowledged' | 'alert.resolved' | 'alert.changed',
    patch: AlertPatch,
  ): Promise<AlertRecord> {
    const now = this.d.clock.now();
    const a = await this.d.storage.alerts.update(orgId, id, from, patch, now);
    if (!a) {
      const current = await this.get(orgId, id); // not_found for a missing or foreign id
      throw new BulwarkError(
        'alert_state_conflict',
        `the alert is ${current.state}; this needs it ${from.join(' or ')}`,
      );
    }
    this.#emit(type, a, now);
    return a;
  }

  #emit(
    type:
      'alert.opened' | 'alert.reopened' | 'alert.acknowledged' | 'alert.resolved' | 'alert.changed',
    a: AlertRecord,
    at: number,
  ): void {
    this.d.events?.emit({
      type,
      orgId: a.orgId,
      at,
      alertId: a.id,
      kind: a.kind,
      severity: a.severity,
      deviceId: a.deviceId,
    });
  }
}

/** `device_offline` → "Device offline", with the device when there is one. */
function defaultTitle(kind: string, deviceId: string | null): string {
  const words = kind.replace(/_/g, ' ');
  const text = words.charAt(0).toUpperCase() + words.slice(1);
  return deviceId === null ? text : `${text}: device ${deviceId}`;
}

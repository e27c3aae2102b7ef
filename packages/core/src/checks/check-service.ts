/**
 * The fleet audit checks (decision 0031): runs them for one organization (on demand) or for
 * every organization (the scheduled pass, one node at a time under a lease), records what they
 * found as findings with an identity across runs, resolves what is gone, raises alerts for new
 * high and critical findings, and keeps suppressions.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { AlertService } from '../alerts/alert-service.js';
import type { Clock } from '../ports/clock.js';
import type {
  CheckId,
  FindingFilter,
  FindingRecord,
  FindingSeverity,
  SuppressionRecord,
} from '../ports/checks.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { alertsFor, raiseFindingAlert, resolveFindingAlerts } from './finding-alerts.js';
import { HUB_CHECK_IDS, ORG_CHECK_IDS, runOrgChecks } from './org-checks.js';
import { loadSnapshot, type SnapshotStorage } from './snapshot.js';
import type { AuditCheckConfig, FindingDraft } from './types.js';

/** The hub-configuration findings of the node running the checks (the hub supplies them). */
export type HubCheckSource = (now: number) => Promise<FindingDraft[]>;

/** What one run found for one organization. */
export interface CheckRunSummary {
  orgId: string;
  at: number;
  hubChecks: boolean;
  open: number;
  new: number;
  resolved: number;
  bySeverity: Record<FindingSeverity, number>;
}

/** A finding with the live suppression that covers it, if any. */
export interface FindingWithSuppression extends FindingRecord {
  suppression: SuppressionRecord | null;
}

/** Settings of the service beyond the check thresholds. */
export interface AuditCheckServiceConfig extends AuditCheckConfig {
  /** How often the scheduled pass runs. */
  intervalMs: number;
  /** The organization that operates the hub (sees `hub.*`); empty: the oldest organization. */
  hubOrgId: string;
}

/** A run of one organization holds its lease this long at most (a crashed node's expires). */
const RUN_LEASE_MS = 10 * 60_000;
/** The scheduled pass's lease: the whole pass, every organization. */
const PASS_LEASE_MS = 60 * 60_000;
/** When the last scheduled pass started (system store), so a pass runs once per interval. */
const LAST_PASS_KEY = 'checks.last-pass';
/** At most this many live suppressions per organization. */
const MAX_SUPPRESSIONS = 1000;

/** Does the suppression cover the finding (same check; every resource, or one it names)? */
export function suppresses(s: SuppressionRecord, f: FindingRecord): boolean {
  if (s.checkId !== f.checkId) return false;
  if (s.resource === null) return true;
  return s.resource === f.key || f.resources.some((r) => `${r.type}:${r.id}` === s.resource);
}

export class AuditCheckService {
  constructor(
    private readonly d: {
      storage: SnapshotStorage & Pick<Storage, 'organizations' | 'system'>;
      clock: Clock;
      /** This node, as the holder of the leases. */
      nodeId: string;
      config: AuditCheckServiceConfig;
      alerts?: Pick<AlertService, 'raise' | 'resolveKey'>;
      hubChecks?: HubCheckSource;
    },
  ) {}

  /** The organization that sees the hub-configuration findings. */
  async hubOrgId(): Promise<string | undefined> {
    if (this.d.config.hubOrgId !== '') return this.d.config.hubOrgId;
    return (await this.d.storage.organizations.list(1))[0]?.id;
  }

  /**
   * Runs every check for one organization now. Refused (`conflict`) while another run of the
   * same organization is going on, on this node or another.
   */
  async run(orgId: string): Promise<CheckRunSummary> {
    const store = this.d.storage.checks;
    const name = `org:${orgId}`;
    const now = this.d.clock.now();
    if (!(await store.lease(name, this.d.nodeId, now, now + RUN_LEASE_MS)))
      throw new BulwarkError(
        'conflict',
        "this organization's checks are running already (here or on another hub node); try again when that run is done",
      );
    try {
      return await this.#run(orgId, now);
    } finally {
      await store.releaseLease(name, this.d.nodeId);
    }
  }

  async #run(orgId: string, now: number): Promise<CheckRunSummary> {
    const store = this.d.storage.checks;
    const snapshot = await loadSnapshot(this.d.storage, orgId);
    const drafts = runOrgChecks(snapshot, now, this.d.config);
    const ran = new Set<CheckId>(ORG_CHECK_IDS);
    const hub = this.d.hubChecks !== undefined && orgId === (await this.hubOrgId());
    if (hub) {
      drafts.push(...(await this.d.hubChecks!(now)));
      for (const id of HUB_CHECK_IDS) ran.add(id);
    }
    const before = await store.listOpenFindings(orgId);
    const suppressions = await store.listSuppressions(orgId, now);
    const seen = new Set<string>();
    const keys = new Set<string>();
    const bySeverity: Record<FindingSeverity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
    let opened = 0;
    for (const draft of drafts) {
      // One finding per (check, key): a check reporting a key twice is recorded once.
      if (keys.has(`${draft.checkId}\n${draft.key}`)) continue;
      keys.add(`${draft.checkId}\n${draft.key}`);
      const r = await store.recordFinding({
        id: newId(now),
        orgId,
        ...draft,
        state: 'open',
        firstSeenAt: now,
        lastSeenAt: now,
        resolvedAt: null,
      });
      seen.add(r.finding.id);
      bySeverity[r.finding.severity]++;
      if (!r.opened) continue;
      opened++;
      if (
        alertsFor(r.finding) &&
        this.d.alerts &&
        !suppressions.some((s) => suppresses(s, r.finding))
      )
        await raiseFindingAlert(this.d.alerts, r.finding);
    }
    // Only checks that ran resolve their findings: without the hub's view, `hub.*` stay as they were.
    const gone = before.filter((f) => ran.has(f.checkId) && !seen.has(f.id)).map((f) => f.id);
    const resolved = await store.resolveFindings(orgId, gone, now);
    if (this.d.alerts) await resolveFindingAlerts(this.d.alerts, orgId, gone);
    return { orgId, at: now, hubChecks: hub, open: seen.size, new: opened, resolved, bySeverity };
  }

  /**
   * The scheduled pass: when the interval has passed since the last one, the node that takes
   * the pass lease runs every organization's checks (skipping one being run on demand). Returns
   * how many organizations it ran, or undefined when it was not this node's turn.
   */
  async runPass(
    onError: (err: unknown, orgId: string) => void = () => undefined,
  ): Promise<{ orgs: number } | undefined> {
    const { checks: store, system, organizations } = this.d.storage;
    const now = this.d.clock.now();
    if (!(await store.lease('pass', this.d.nodeId, now, now + PASS_LEASE_MS))) return undefined;
    try {
      const last = Number((await system.get(LAST_PASS_KEY)) ?? 0);
      if (now - last < this.d.config.intervalMs) return undefined;
      // Marked before the pass: a node that dies midway does not make every node retry at once.
      await system.put(LAST_PASS_KEY, String(now));
      const orgs = await organizations.list(await organizations.count());
      let n = 0;
      for (const org of orgs) {
        try {
          await this.run(org.id);
          n++;
        } catch (err) {
          onError(err, org.id);
        }
      }
      return { orgs: n };
    } finally {
      await store.releaseLease('pass', this.d.nodeId);
    }
  }

  /** The organization's findings, newest first, each with the suppression covering it. */
  async list(
    orgId: string,
    filter: FindingFilter,
    page: PageRequest,
  ): Promise<Page<FindingWithSuppression>> {
    const p = await this.d.storage.checks.listFindings(orgId, filter, page);
    const live = await this.d.storage.checks.listSuppressions(orgId, this.d.clock.now());
    return { ...p, items: p.items.map((f) => this.#annotate(f, live)) };
  }

  async get(orgId: string, id: string): Promise<FindingWithSuppression> {
    const f = await this.d.storage.checks.getFinding(orgId, id);
    if (f === undefined) throw new BulwarkError('not_found', `no finding ${id}`);
    const live = await this.d.storage.checks.listSuppressions(orgId, this.d.clock.now());
    return this.#annotate(f, live);
  }

  #annotate(f: FindingRecord, live: SuppressionRecord[]): FindingWithSuppression {
    return { ...f, suppression: live.find((s) => suppresses(s, f)) ?? null };
  }

  /** Suppresses the findings of a check (of one `type:id` resource, when given) until it expires. */
  async suppress(
    orgId: string,
    createdBy: string | null,
    req: { checkId: CheckId; resource?: string; reason: string; ttlSeconds: number },
  ): Promise<SuppressionRecord> {
    const now = this.d.clock.now();
    const reason = req.reason.trim();
    if (reason.length < 3)
      throw new BulwarkError('validation_failed', 'give the reason for the suppression');
    if ((await this.d.storage.checks.listSuppressions(orgId, now)).length >= MAX_SUPPRESSIONS)
      throw new BulwarkError(
        'conflict',
        `the organization has ${MAX_SUPPRESSIONS} live suppressions already; delete some first`,
      );
    const s: SuppressionRecord = {
      id: newId(now),
      orgId,
      checkId: req.checkId,
      resource: req.resource ?? null,
      reason,
      createdBy,
      createdAt: now,
      expiresAt: now + req.ttlSeconds * 1000,
    };
    await this.d.storage.checks.createSuppression(s);
    return s;
  }

  listSuppressions(orgId: string): Promise<SuppressionRecord[]> {
    return this.d.storage.checks.listSuppressions(orgId, this.d.clock.now());
  }

  async unsuppress(orgId: string, id: string): Promise<void> {
    if (!(await this.d.storage.checks.deleteSuppression(orgId, id)))
      throw new BulwarkError('not_found', `no suppression ${id}`);
  }
}

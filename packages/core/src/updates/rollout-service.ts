/**
 * Rollouts (issue 6, decision 0011): one artifact to many devices, in phases, within concurrency,
 * rate and a maintenance window, pausing itself when too many updates fail. The decisions are
 * rollout-engine.ts's; this service reads their inputs, carries them out and keeps the records.
 * `tick` is called periodically by every hub node; a per-rollout lease makes one node step it.
 */
import {
  BulwarkError,
  CANCELABLE_UPDATE_JOB_STATES,
  type CreateRolloutRequest,
  type RolloutPhase,
} from '@bulwark/protocol';
import type { AlertService } from '../alerts/alert-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../management/signals.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { Device, Page } from '../ports/records.js';
import type { RolloutPatch, RolloutRecord, RolloutState } from '../ports/rollouts.js';
import { encodeIdCursor, decodeIdCursor } from '../shared/cursor.js';
import { newId } from '../shared/ids.js';
import { releaseExpired } from '../firmware/release-expiry.js';
import {
  FAILED_STATES,
  phaseLimits,
  planStep,
  type RolloutProgress,
  type StepPlan,
} from './rollout-engine.js';
import { nextWindowOpen, windowOpen } from './rollout-window.js';
import {
  SYSTEM_ACTOR,
  engineDevices,
  engineJobs,
  rolloutJobs,
  targetDevices,
  type RolloutDeps,
} from './rollout-inputs.js';
import { validateRolloutRequest } from './rollout-validate.js';

/** Defaults of a rollout's limits, where the request leaves them out. */
export const ROLLOUT_DEFAULTS = {
  maxConcurrent: 10,
  failureThreshold: { percent: 20, minDevices: 5 },
} as const;

/** Running rollouts read per page of the sweep, and the most pages one tick reads. */
const SWEEP_PAGE = 100;
const MAX_SWEEP_PAGES = 50;

/** Errors of one deployment that skip the device for this step rather than fail the step. */
const SKIPPED = new Set<string>([
  'update_job_open',
  'update_incompatible',
  'device_decommissioned',
]);

export interface RolloutServiceDeps extends RolloutDeps {
  clock: Clock;
  audit: AuditService;
  /** The one owner of alerts: an automatic pause raises `rollout_paused` there. */
  alerts: AlertService;
  /** Told every rollout state change (`rollout.transition`: the console's live views). */
  events?: DomainEvents;
  /** This hub node, as the holder of rollout tick leases. */
  nodeId: string;
  /** How long a node's claim on stepping a rollout lasts (renewed every tick it holds it). */
  leaseMs?: number;
}

/** Devices listed by a preview, at most. */
export const PREVIEW_DEVICES = 100;

/**
 * What a rollout request would do if it were created now: the devices its target matches (of a
 * type the artifact fits, not decommissioned), which of them are already current, how many each
 * phase would end at, and whether the window is open. Nothing is stored.
 */
export interface RolloutPreview {
  /** Matching devices the artifact fits. */
  total: number;
  /** Of those, already on the artifact's version or newer. */
  current: number;
  /** Of those, the ones the rollout would update. */
  toUpdate: number;
  /** Each phase's cumulative device count, from `toUpdate`. */
  phases: { index: number; name: string | null; limit: number }[];
  windowOpen: boolean;
  /** When the window next opens, if it is closed now. */
  nextWindowAt: number | null;
  /** The first PREVIEW_DEVICES matching devices, by id. */
  devices: Device[];
  /** Which of `devices` are current. */
  currentIds: Set<string>;
}

/** A rollout with its live progress. */
export interface RolloutWithProgress {
  rollout: RolloutRecord;
  progress: RolloutProgress;
}

export class RolloutService {
  constructor(private readonly d: RolloutServiceDeps) {}

  /** Validates and starts a rollout (state `running`; the next tick starts its first jobs). */
  async create(orgId: string, req: CreateRolloutRequest, actor: Actor): Promise<RolloutRecord> {
    const artifact = await this.d.storage.firmware.getArtifact(orgId, req.artifactId);
    if (!artifact) throw new BulwarkError('not_found', 'no such firmware artifact');
    await validateRolloutRequest(this.d, orgId, req, artifact, this.d.clock.now());
    const now = this.d.clock.now();
    const phases: RolloutPhase[] = req.phases ?? [{ percent: 100 }];
    const r: RolloutRecord = {
      id: newId(now),
      orgId,
      name: req.name ?? `${artifact.name} (${artifact.version})`,
      artifactId: artifact.id,
      target: req.target,
      phases,
      maxConcurrent: req.maxConcurrent ?? ROLLOUT_DEFAULTS.maxConcurrent,
      ratePerMinute: req.ratePerMinute ?? null,
      failureThreshold: req.failureThreshold ?? { ...ROLLOUT_DEFAULTS.failureThreshold },
      window: req.window ? { ...req.window, timezone: req.window.timezone ?? 'UTC' } : null,
      state: 'running',
      pauseReason: null,
      pauseDetail: null,
      baseline: { failures: 0, finished: 0, gatesWaived: 0 },
      createdBy: actor.id ?? actor.type,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.storage.rollouts.create(r);
    return r;
  }

  /**
   * Checks a request as `create` does (same refusals) and answers what it would do now — the
   * devices it matches and the phase sizes — without storing anything or starting a job.
   */
  async preview(orgId: string, req: CreateRolloutRequest): Promise<RolloutPreview> {
    const artifact = await this.d.storage.firmware.getArtifact(orgId, req.artifactId);
    if (!artifact) throw new BulwarkError('not_found', 'no such firmware artifact');
    const now = this.d.clock.now();
    await validateRolloutRequest(this.d, orgId, req, artifact, now);
    const devices = await targetDevices(this.d, { orgId, target: req.target }, artifact);
    const engine = engineDevices(devices, artifact);
    const currentIds = new Set(engine.filter((e) => e.current).map((e) => e.id));
    const toUpdate = devices.length - currentIds.size;
    const phases = req.phases ?? [{ percent: 100 }];
    const limits = phaseLimits({ phases }, toUpdate);
    const window = req.window ? { ...req.window, timezone: req.window.timezone ?? 'UTC' } : null;
    const open = windowOpen(window, now);
    return {
      total: devices.length,
      current: currentIds.size,
      toUpdate,
      phases: phases.map((p, index) => ({ index, name: p.name ?? null, limit: limits[index]! })),
      windowOpen: open,
      nextWindowAt: open ? null : nextWindowOpen(window, now),
      devices: devices.slice(0, PREVIEW_DEVICES),
      currentIds,
    };
  }

  /** One rollout, or not_found. */
  async getRecord(orgId: string, id: string): Promise<RolloutRecord> {
    const r = await this.d.storage.rollouts.get(orgId, id);
    if (!r) throw new BulwarkError('not_found', 'no such rollout in this organization');
    return r;
  }

  /** One rollout with its progress, computed now from its jobs and its current target. */
  async get(orgId: string, id: string): Promise<RolloutWithProgress> {
    const rollout = await this.getRecord(orgId, id);
    const { plan } = await this.#plan(rollout, this.d.clock.now());
    return { rollout, progress: plan.progress };
  }

  /** The organization's rollouts, newest first. */
  async list(
    orgId: string,
    q: { state?: RolloutState; limit?: number; cursor?: string },
  ): Promise<Page<RolloutRecord>> {
    const limit = q.limit ?? 50;
    const rows = await this.d.storage.rollouts.list(orgId, {
      limit: limit + 1,
      ...(q.state !== undefined ? { state: q.state } : {}),
      ...(q.cursor !== undefined ? { before: decodeIdCursor(q.cursor) } : {}),
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null,
    };
  }

  /** Stops starting jobs; jobs under way go on. */
  async pause(orgId: string, id: string, actor: Actor, reason?: string): Promise<RolloutRecord> {
    const r = await this.getRecord(orgId, id);
    return this.#move(r, ['running'], {
      state: 'paused',
      pauseReason: reason ?? `paused by ${actor.type}`,
      pauseDetail: null,
    });
  }

  /**
   * Starts again. Failures so far stop counting toward the threshold, and a missed success gate is
   * waived: the operator has looked at them and chosen to go on.
   */
  async resume(orgId: string, id: string): Promise<RolloutRecord> {
    const r = await this.getRecord(orgId, id);
    if (r.state !== 'paused')
      throw new BulwarkError('rollout_state_conflict', `the rollout is ${r.state}, not paused`);
    const { plan } = await this.#plan(r, this.d.clock.now());
    const gatePhase = r.pauseReason === 'success_gate' ? Number(r.pauseDetail?.['phase']) : NaN;
    const next = await this.#move(r, ['paused'], {
      state: 'running',
      pauseReason: null,
      pauseDetail: null,
      baseline: {
        failures: plan.progress.failed,
        finished: plan.progress.failed + plan.progress.succeeded,
        gatesWaived: Number.isInteger(gatePhase)
          ? Math.max(r.baseline.gatesWaived, gatePhase + 1)
          : r.baseline.gatesWaived,
      },
    });
    await this.#resolveAlert(r);
    return next;
  }

  /**
   * Ends the rollout and cancels its jobs that have not started installing: queued ones at once,
   * the others as requests their devices confirm or refuse (decision 0015). The rollout starts no
   * job from now on; its progress keeps counting each job as it really ends.
   */
  async cancel(orgId: string, id: string, actor: Actor): Promise<RolloutRecord> {
    const r = await this.getRecord(orgId, id);
    const next = await this.#move(r, ['running', 'paused'], {
      state: 'canceled',
      pauseReason: null,
      pauseDetail: null,
    });
    const open = await rolloutJobs(this.d.jobStore, orgId, id, [...CANCELABLE_UPDATE_JOB_STATES]);
    for (const job of open) {
      // A job may have moved on meanwhile (installing can no longer be canceled): leave it.
      await this.d.jobs.cancel(orgId, job.id, actor).catch(() => undefined);
    }
    await this.#resolveAlert(r);
    return next;
  }

  /**
   * One pass over every running rollout this node can lease: starts jobs, pauses, completes.
   * Returns how many rollouts were stepped and jobs started; a failing step is told to `onError`
   * (the hub logs it) and the pass goes on with the next rollout.
   */
  async tick(
    now = this.d.clock.now(),
    onError?: (err: unknown, rollout: RolloutRecord) => void,
  ): Promise<{ stepped: number; started: number }> {
    let stepped = 0;
    let started = 0;
    let after: string | undefined;
    for (let page = 0; page < MAX_SWEEP_PAGES; page++) {
      const batch = await this.d.storage.rollouts.listRunning(SWEEP_PAGE, after);
      for (const r of batch) {
        const until = now + (this.d.leaseMs ?? 30_000);
        if (!(await this.d.storage.rollouts.lease(r.orgId, r.id, this.d.nodeId, now, until)))
          continue;
        try {
          started += await this.#step(r, now);
          stepped++;
        } catch (err) {
          onError?.(err, r);
        }
      }
      if (batch.length < SWEEP_PAGE) break;
      after = batch[batch.length - 1]?.id;
    }
    return { stepped, started };
  }

  /**
   * Gives up this node's tick leases (a clean stop), so a restarted hub or another node steps its
   * rollouts at once rather than after the lease runs out. Returns how many were released.
   */
  releaseLeases(): Promise<number> {
    return this.d.storage.rollouts.releaseLeases(this.d.nodeId);
  }

  async #step(r: RolloutRecord, now: number): Promise<number> {
    const { plan, artifact, lastFailed, targetProblem } = await this.#plan(r, now);
    if (artifact === undefined || targetProblem !== undefined) {
      await this.#autoPause(r, targetProblem ?? 'artifact_missing', {}, undefined);
      return 0;
    }
    if (plan.pause) {
      await this.#autoPause(r, plan.pause.reason, plan.pause.detail, lastFailed);
      return 0;
    }
    if (plan.complete) {
      if (
        await this.#set(r, ['running'], {
          state: 'completed',
          pauseReason: null,
          pauseDetail: null,
        })
      )
        await this.#auditSystem(r, 'rollout.completed', { succeeded: plan.progress.succeeded });
      return 0;
    }
    if (plan.start.length === 0) return 0;
    // Devices refuse expired metadata: pause saying so rather than start jobs that can only fail.
    if (releaseExpired(artifact, now)) {
      await this.#autoPause(r, 'artifact_expired', {}, undefined);
      return 0;
    }
    // A pause or cancel may have landed since the sweep read the rollout.
    if ((await this.d.storage.rollouts.get(r.orgId, r.id))?.state !== 'running') return 0;
    let started = 0;
    for (const deviceId of plan.start) {
      try {
        await this.d.jobs.deploy(r.orgId, deviceId, artifact.id, {
          actor: SYSTEM_ACTOR,
          origin: 'rollout',
          rolloutId: r.id,
        });
        started++;
      } catch (err) {
        if (err instanceof BulwarkError && SKIPPED.has(err.code)) continue;
        throw err;
      }
    }
    return started;
  }

  async #plan(
    r: RolloutRecord,
    now: number,
  ): Promise<{
    plan: StepPlan;
    artifact: FirmwareArtifactRecord | undefined;
    lastFailed: string | undefined;
    targetProblem: string | undefined;
  }> {
    const artifact = await this.d.storage.firmware.getArtifact(r.orgId, r.artifactId);
    const jobs = await rolloutJobs(this.d.jobStore, r.orgId, r.id);
    let devices: Device[] = [];
    let targetProblem: string | undefined;
    try {
      if (artifact) devices = await targetDevices(this.d, r, artifact);
    } catch (err) {
      // The target's location was deleted, or the target grew past the bulk limit: the rollout
      // pauses saying so (and its progress still shows), rather than failing every tick.
      if (!(err instanceof BulwarkError)) throw err;
      if (err.code === 'not_found') targetProblem = 'target_location_missing';
      else if (err.code === 'validation_failed') targetProblem = 'target_too_large';
      else throw err;
    }
    const plan = planStep({
      now,
      spec: r,
      baseline: r.baseline,
      devices: artifact ? engineDevices(devices, artifact) : [],
      jobs: engineJobs(jobs),
    });
    if (r.state !== 'running') plan.progress.nextEligibleAt = null;
    // The newest failure carries the alert of an automatic pause.
    const lastFailed = jobs.find((j) => FAILED_STATES.includes(j.state))?.deviceId;
    return { plan, artifact, lastFailed, targetProblem };
  }

  async #autoPause(
    r: RolloutRecord,
    reason: string,
    detail: Record<string, number>,
    deviceId: string | undefined,
  ): Promise<void> {
    const pauseDetail: Record<string, string | number> = {
      ...detail,
      ...(deviceId ? { deviceId } : {}),
    };
    if (!(await this.#set(r, ['running'], { state: 'paused', pauseReason: reason, pauseDetail })))
      return;
    await this.#auditSystem(r, 'rollout.paused', { reason, ...pauseDetail });
    if (deviceId !== undefined) {
      await this.d.alerts.open(r.orgId, deviceId, 'rollout_paused', {
        rolloutId: r.id,
        rollout: r.name,
        reason,
        ...detail,
      });
    }
  }

  async #resolveAlert(r: RolloutRecord): Promise<void> {
    const deviceId = r.pauseDetail?.['deviceId'];
    if (typeof deviceId === 'string')
      await this.d.alerts.resolve(r.orgId, deviceId, 'rollout_paused');
  }

  async #auditSystem(
    r: RolloutRecord,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.d.audit.record({
      orgId: r.orgId,
      actorType: 'system',
      actorId: null,
      action,
      targetType: 'rollouts',
      targetId: r.id,
      source: this.d.nodeId,
      result: 'success',
      detail,
    });
  }

  /** Applies a state change if the rollout is in one of `from`; false otherwise. */
  async #set(
    r: RolloutRecord,
    from: RolloutState[],
    patch: Omit<RolloutPatch, 'updatedAt'>,
  ): Promise<boolean> {
    const moved = await this.d.storage.rollouts.update(r.orgId, r.id, from, {
      ...patch,
      updatedAt: this.d.clock.now(),
    });
    if (moved && patch.state !== undefined) {
      this.d.events?.emit({
        type: 'rollout.transition',
        orgId: r.orgId,
        rolloutId: r.id,
        state: patch.state,
        at: this.d.clock.now(),
      });
    }
    return moved;
  }

  /** As #set, for an operator's call: refuses with `rollout_state_conflict`, returns the new record. */
  async #move(
    r: RolloutRecord,
    from: RolloutState[],
    patch: Omit<RolloutPatch, 'updatedAt'>,
  ): Promise<RolloutRecord> {
    if (!(await this.#set(r, from, patch)))
      throw new BulwarkError(
        'rollout_state_conflict',
        `the rollout is ${(await this.getRecord(r.orgId, r.id)).state}; this needs ${from.join(' or ')}`,
      );
    return this.getRecord(r.orgId, r.id);
  }
}

/**
 * Firmware update jobs (issue 6, decision 0008): one job installs one ready artifact on one
 * device. queued → delivered → downloading(progress) → downloaded → installing → rebooting →
 * succeeded, or failed / rolled_back / rejected / canceled / timed_out. Every change is a
 * compare-and-set on the stored state checked by `canMoveUpdateJob`, so a job never moves
 * backwards and a terminal state never changes; each applied change (but mere download progress)
 * appends to the job's history with its reason, and every message the device sends is kept there
 * too (bounded; decision 0015). A cancel after delivery is a request the device answers.
 *
 * The device is the source of truth for what it runs: `succeeded` comes only from the device
 * (after its new slot booted and passed its health check), and the device record's firmware
 * type/version come from the device's own reports (`installed`, `firmware`), never from a job.
 * A device has at most one open job (the database enforces it across hub nodes).
 */
import {
  BulwarkError,
  CANCELABLE_UPDATE_JOB_STATES,
  isTerminalUpdateState,
  type InstalledFirmware,
  type UpdateInstallOffer,
  type UpdateJobState,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import { assertReleaseCurrent } from '../firmware/release-expiry.js';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type { Page } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import type { DomainEvents } from '../ports/events.js';
import { decodeIdCursor, encodeIdCursor } from '../shared/cursor.js';
import { newId } from '../shared/ids.js';
import type { Actor, ManagementSignals } from '../management/signals.js';
import { planReport } from './job-report.js';

/** A job's default time to finish: a day (slow links, devices asleep). */
export const DEFAULT_UPDATE_TIMEOUT_SECONDS = 24 * 3600;
/** The longest a job may be given: 30 days. */
export const MAX_UPDATE_TIMEOUT_SECONDS = 30 * 24 * 3600;
/** How many times a report or cancel re-reads the job when another writer moved it meanwhile. */
const RETRIES = 3;
/** The overdue sweep's page size and page count per call (bounded work per sweep). */
const OVERDUE_BATCH = 200;
const OVERDUE_ROUNDS = 50;

/** Options of a deployment. */
export interface DeployOptions {
  actor: Actor;
  origin?: 'deploy' | 'rollout' | 'auto-upgrade';
  rolloutId?: string | null;
  timeoutSeconds?: number;
}

/** A job list query (the REST query, decoded). */
export interface UpdateJobQuery {
  deviceId?: string;
  rolloutId?: string;
  artifactId?: string;
  state?: UpdateJobState;
  states?: UpdateJobState[];
  cursor?: string | null;
  limit?: number;
}

/** "user 0190…", "api_key 0190…", "system": who did something, for a history entry. */
export const actorLabel = (a: Actor): string => (a.id ? `${a.type} ${a.id}` : a.type);

export class UpdateJobService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      devices: DeviceService;
      signals: ManagementSignals;
      /**
       * Records jobs created by rollouts and auto-upgrade (a deployment through the API is audited
       * by its route like every mutation).
       */
      audit?: AuditService;
      /** Told every job state change (`update_job.transition`: the console's live views). */
      events?: DomainEvents;
    },
  ) {}

  #emit(job: UpdateJobRecord): void {
    this.d.events?.emit({
      type: 'update_job.transition',
      orgId: job.orgId,
      deviceId: job.deviceId,
      jobId: job.id,
      state: job.state,
      rolloutId: job.rolloutId ?? null,
      at: this.d.clock.now(),
    });
  }

  /**
   * Creates a job installing `artifactId` on the device. Refuses, changing nothing, a device that
   * is decommissioned (`device_decommissioned`), an artifact without its image
   * (`firmware_artifact_not_ready`), one whose signed metadata has expired
   * (`firmware_metadata_expired`: the device would refuse it), one whose types do not include the device's registered type
   * (`update_incompatible`), and a device that has an open job (`update_job_open`).
   */
  async deploy(
    orgId: string,
    deviceId: string,
    artifactId: string,
    opts: DeployOptions,
  ): Promise<UpdateJobRecord> {
    const t = opts.timeoutSeconds ?? DEFAULT_UPDATE_TIMEOUT_SECONDS;
    if (!Number.isInteger(t) || t < 1 || t > MAX_UPDATE_TIMEOUT_SECONDS) {
      throw new BulwarkError(
        'validation_failed',
        `timeoutSeconds must be 1..${MAX_UPDATE_TIMEOUT_SECONDS}`,
      );
    }
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    const artifact = await this.d.storage.firmware.getArtifact(orgId, artifactId);
    if (!artifact) throw new BulwarkError('not_found', 'no such firmware artifact');
    if (artifact.state !== 'ready') {
      throw new BulwarkError('firmware_artifact_not_ready', 'the artifact has no image yet', {
        extra: { artifactId },
      });
    }
    assertReleaseCurrent(artifact, this.d.clock.now());
    if (!artifact.types.includes(device.type)) {
      throw new BulwarkError(
        'update_incompatible',
        `the artifact is for ${artifact.types.join(', ')}; the device is a ${device.type}`,
        { extra: { deviceType: device.type, artifactTypes: artifact.types } },
      );
    }
    const open = await this.d.storage.updateJobs.openForDevice(orgId, deviceId);
    if (open) throw openError(open);
    const now = this.d.clock.now();
    const origin = opts.origin ?? 'deploy';
    const by = actorLabel(opts.actor);
    const job = await this.d.storage.updateJobs.create({
      id: newId(now),
      orgId,
      deviceId,
      artifactId,
      rolloutId: opts.rolloutId ?? null,
      origin,
      state: 'queued',
      progress: null,
      reason: null,
      message: null,
      delta: null,
      history: [
        {
          state: 'queued',
          at: now,
          by,
          message: `${origin} of ${artifact.name} (${artifact.version})`,
        },
      ],
      cancelRequested: null,
      createdBy: by,
      createdAt: now,
      updatedAt: now,
      deadline: now + t * 1000,
    });
    if (origin !== 'deploy' && this.d.audit) {
      await this.d.audit.record({
        orgId,
        actorType: opts.actor.type,
        actorId: opts.actor.id,
        action: 'update.job.created',
        targetType: 'device',
        targetId: deviceId,
        source: opts.actor.source ?? null,
        result: 'success',
        detail: { jobId: job.id, artifactId, origin, rolloutId: job.rolloutId },
      });
    }
    this.d.signals.emit('updateJobQueued', job);
    this.#emit(job);
    return job;
  }

  /** One job with its history (`not_found` for another organization's). */
  async get(orgId: string, id: string): Promise<UpdateJobRecord> {
    const j = await this.d.storage.updateJobs.get(orgId, id);
    if (!j) throw new BulwarkError('not_found', 'no such update job in this organization');
    return j;
  }

  /** Jobs, newest first, filtered; the cursor is opaque. */
  async list(orgId: string, q: UpdateJobQuery): Promise<Page<UpdateJobRecord>> {
    const limit = Math.min(Math.max(1, q.limit ?? 50), 500);
    const states = q.states ?? (q.state !== undefined ? [q.state] : undefined);
    const rows = await this.d.storage.updateJobs.list(orgId, {
      ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}),
      ...(q.rolloutId !== undefined ? { rolloutId: q.rolloutId } : {}),
      ...(q.artifactId !== undefined ? { artifactId: q.artifactId } : {}),
      ...(states !== undefined ? { states } : {}),
      ...(q.cursor ? { before: decodeIdCursor(q.cursor) } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.id) : null,
    };
  }

  /** The device's open (non-terminal) job, if any. */
  openFor(orgId: string, deviceId: string): Promise<UpdateJobRecord | undefined> {
    return this.d.storage.updateJobs.openForDevice(orgId, deviceId);
  }

  /** The open jobs of these devices (the device plane's delivery question). */
  openForDevices(orgId: string, deviceIds: readonly string[], limit = 1000) {
    return this.d.storage.updateJobs.openForDevices(orgId, deviceIds, limit);
  }

  /**
   * A device's report on one of its jobs (job-report.ts): `applied` when it moved the job (or its
   * download progress), `noted` when it only added its message to the history, `ignored`
   * (nothing changed) for another device's or an unknown job, a terminal one, or a move
   * `canMoveUpdateJob` refuses that carries no message. `installed` (with succeeded / rolled_back)
   * also updates the device's firmware version.
   */
  async report(
    orgId: string,
    deviceId: string,
    jobId: string,
    report: UpdateStatusReport,
  ): Promise<'applied' | 'noted' | 'ignored'> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const cur = await this.d.storage.updateJobs.get(orgId, jobId);
      if (!cur || cur.deviceId !== deviceId) return 'ignored';
      const plan = planReport(cur, report, this.d.clock.now());
      if (!plan) return 'ignored';
      if (!(await this.d.storage.updateJobs.transition(orgId, jobId, plan.transition))) continue;
      if (plan.outcome === 'applied' && report.installed)
        await this.installedReported(orgId, deviceId, report.installed);
      await this.#changed(orgId, jobId);
      return plan.outcome;
    }
    return 'ignored';
  }

  /**
   * The hub handed the offer to the device's session (or wrote an LwM2M device's Package URI):
   * queued → delivered (else nothing).
   */
  async delivered(
    orgId: string,
    jobId: string,
    message = 'offer sent to the device',
  ): Promise<boolean> {
    const at = this.d.clock.now();
    const ok = await this.d.storage.updateJobs.transition(orgId, jobId, {
      from: 'queued',
      to: 'delivered',
      at,
      entries: [{ state: 'delivered', at, by: 'hub', message }],
    });
    if (ok) await this.#changed(orgId, jobId);
    return ok;
  }

  /**
   * Cancels a job that has not reached `installing` (`update_job_not_cancelable` otherwise). A job
   * still `queued` was never handed to the device: it is `canceled` at once. From `delivered` on,
   * the device may be working on it, so the cancel is a request (decision 0015): the job records
   * who asked and when and stays in its state until the device confirms (`canceled`) or refuses
   * (the request is dropped, the job goes on). Asking again while a request is pending changes
   * nothing. `force` ends any open job `canceled` at once, without the device — for one that is
   * gone; it is still told to stop if it comes back, and its later reports are not recorded.
   */
  async cancel(
    orgId: string,
    jobId: string,
    actor: Actor,
    opts: { force?: boolean } = {},
  ): Promise<UpdateJobRecord> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const cur = await this.get(orgId, jobId);
      const open = !isTerminalUpdateState(cur.state);
      if (!(opts.force ? open : CANCELABLE_UPDATE_JOB_STATES.includes(cur.state))) {
        throw new BulwarkError('update_job_not_cancelable', `the job is ${cur.state}`, {
          extra: { state: cur.state },
        });
      }
      if (cur.cancelRequested !== null && !opts.force) return cur;
      const at = this.d.clock.now();
      const by = actorLabel(actor);
      const now = cur.state === 'queued' || opts.force === true;
      const message = opts.force
        ? `forced in state ${cur.state}, without the device's answer`
        : `in state ${cur.state}`;
      const ok = now
        ? await this.d.storage.updateJobs.transition(orgId, jobId, {
            from: cur.state,
            to: 'canceled',
            at,
            reason: 'canceled',
            message: `canceled by ${by}`,
            cancelRequested: null,
            entries: [{ state: 'canceled', at, reason: 'canceled', by, message }],
          })
        : await this.d.storage.updateJobs.transition(orgId, jobId, {
            from: cur.state,
            to: cur.state,
            at,
            cancelRequested: { by, at },
            expectCancelRequested: false,
            entries: [
              {
                state: cur.state,
                at,
                by,
                event: 'cancel_requested',
                message: `cancel requested in state ${cur.state}; the device confirms or refuses`,
              },
            ],
          });
      if (!ok) continue;
      const job = await this.get(orgId, jobId);
      this.d.signals.emit(
        job.state === 'canceled' ? 'updateJobCanceled' : 'updateJobCancelRequested',
        job,
      );
      this.d.signals.emit('updateJobChanged', job);
      this.#emit(job);
      return job;
    }
    throw new BulwarkError('conflict', 'the job kept changing; try again');
  }

  /**
   * What the device says it runs: stored on the device record (the source of truth for its
   * firmware version), then signalled (auto-upgrade listens).
   */
  async installedReported(orgId: string, deviceId: string, fw: InstalledFirmware): Promise<void> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.firmwareType !== fw.type || device.firmwareVersion !== fw.version) {
      await this.d.storage.devices.update(orgId, deviceId, {
        firmwareType: fw.type,
        firmwareVersion: fw.version,
        updatedAt: this.d.clock.now(),
      });
    }
    this.d.signals.emit('firmwareReported', { orgId, deviceId, firmware: fw });
  }

  /** The install offer for a job: signed metadata, the org's trusted root, where to fetch. */
  async offerFor(job: UpdateJobRecord): Promise<UpdateInstallOffer> {
    const artifact = await this.d.storage.firmware.getArtifact(job.orgId, job.artifactId);
    if (!artifact) throw new BulwarkError('not_found', "the job's firmware artifact is gone");
    const root = await this.d.storage.firmware.getRoot(job.orgId);
    if (!root) throw new BulwarkError('not_found', 'the organization has no firmware root');
    return {
      action: 'install',
      id: job.id,
      artifactId: artifact.id,
      metadata: artifact.metadata,
      root: root.root,
      imagePath: `/api/v1/firmware/artifacts/${artifact.id}/image`,
      length: artifact.length,
      sha256: artifact.sha256,
      deadline: new Date(job.deadline).toISOString(),
    };
  }

  /**
   * The hub cannot go on with an open job (e.g. its artifact was deleted, so there is nothing to
   * offer): it ends `failed` with this reason. False when the job was no longer in `job.state`.
   */
  async abandon(job: UpdateJobRecord, reason: string, message: string): Promise<boolean> {
    const at = this.d.clock.now();
    const ok = await this.d.storage.updateJobs.transition(job.orgId, job.id, {
      from: job.state,
      to: 'failed',
      at,
      reason,
      message,
      cancelRequested: null,
      entries: [{ state: 'failed', at, reason, message, by: 'hub' }],
    });
    if (ok) await this.#changed(job.orgId, job.id);
    return ok;
  }

  /** Hub-wide: open jobs past their deadline become `timed_out`; returns how many. */
  async sweepOverdue(now: number = this.d.clock.now()): Promise<number> {
    let n = 0;
    for (let round = 0; round < OVERDUE_ROUNDS; round++) {
      const due = await this.d.storage.updateJobs.listOverdue(now, OVERDUE_BATCH);
      for (const j of due) {
        const ok = await this.d.storage.updateJobs.transition(j.orgId, j.id, {
          from: j.state,
          to: 'timed_out',
          at: now,
          reason: 'timed_out',
          message: `the deadline ${new Date(j.deadline).toISOString()} passed in state ${j.state}`,
          cancelRequested: null,
          entries: [{ state: 'timed_out', at: now, reason: 'timed_out', by: 'hub' }],
        });
        if (ok) {
          n++;
          await this.#changed(j.orgId, j.id);
        }
      }
      if (due.length < OVERDUE_BATCH) break;
    }
    return n;
  }

  async #changed(orgId: string, id: string): Promise<void> {
    const job = await this.d.storage.updateJobs.get(orgId, id);
    if (!job) return;
    this.d.signals.emit('updateJobChanged', job);
    this.#emit(job);
  }
}

function openError(open: UpdateJobRecord): BulwarkError {
  return new BulwarkError(
    'update_job_open',
    `the device has job ${open.id} in state ${open.state}`,
    {
      extra: { jobId: open.id, state: open.state },
    },
  );
}

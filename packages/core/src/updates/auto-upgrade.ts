/**
 * The auto-upgrade policy (issue 6, issue 13, decision 0011): an artifact marked current for a
 * device type is installed, without a rollout, on devices of that type running an older version —
 * within the limits of a rollout: jobs in flight, a rate, a maintenance window and a failure
 * threshold that pauses the policy (auto-upgrade-gate.ts). A device the gate holds back is offered
 * the artifact later by the tick, if it is still online, or on its next call-home.
 *
 * Every job of a policy starts under its tick lease (the one RolloutStore-style compare-and-set on
 * `lease_until`) and, within a node, one at a time, so the counts the gate reads are the ones the
 * starts act on: two hub nodes do not both fill the same free slots. A device whose auto-upgrade to
 * this artifact failed is not offered it again until the policy is set anew, so a bad image does
 * not loop through install and rollback on every connect.
 */
import { BulwarkError, isAtLeastVersion, type InstalledFirmware } from '@bulwark/protocol';
import type { AlertService } from '../alerts/alert-service.js';
import type { AuditService } from '../audit/audit-service.js';
import { releaseExpired, assertReleaseCurrent } from '../firmware/release-expiry.js';
import type { Actor } from '../management/signals.js';
import type { Clock } from '../ports/clock.js';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { Device } from '../ports/records.js';
import type {
  AutoUpgradeLimits,
  FirmwarePolicyRecord,
  FirmwarePolicyWake,
} from '../ports/rollouts.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import {
  AUTO_UPGRADE_DEFAULTS,
  policyGate,
  policyJobs,
  type PolicyGate,
  type PolicyProgress,
} from './auto-upgrade-gate.js';
import { SYSTEM_ACTOR, engineJobs, type RolloutDeps } from './rollout-inputs.js';
import { validateLimits } from './rollout-validate.js';
import { windowOpen } from './rollout-window.js';
import { pausePolicy, policyKey, resolvePolicyAlert } from './auto-upgrade-pause.js';
import { KeyedChain } from '../shared/keyed-chain.js';

/**
 * Outcomes after which the same artifact is not offered again by the policy: the device tried it and
 * it did not work. A timed-out or canceled job (e.g. the device was away) does not count.
 */
const TRIED_AND_FAILED = ['failed', 'rolled_back', 'rejected'];

/** Errors of one offer that skip the device rather than fail the step. */
const SKIPPED = new Set([
  'update_job_open',
  'update_incompatible',
  'firmware_metadata_expired',
  'device_decommissioned',
]);

/** Registry pages of the type one catch-up reads at most (500 devices each: 500,000 devices). */
const DEVICE_PAGE = 500;
const MAX_DEVICE_PAGES = 1000;
/** Awake policies read per page of the tick's sweep, and the most pages one tick reads. */
const SWEEP_PAGE = 100;
const MAX_SWEEP_PAGES = 50;

/** A policy with its artifact's version and its figures now. */
export interface FirmwarePolicy extends FirmwarePolicyRecord {
  version: string;
  progress: PolicyProgress;
}

/** What setting a policy takes: the artifact and, optionally, its limits. */
export interface SetFirmwarePolicy {
  artifactId: string;
  maxConcurrent?: number;
  ratePerMinute?: number;
  failureThreshold?: AutoUpgradeLimits['failureThreshold'];
  window?: NonNullable<AutoUpgradeLimits['window']>;
}

export interface FirmwarePolicyServiceDeps extends RolloutDeps {
  clock: Clock;
  audit: AuditService;
  /** An automatic pause raises `auto_upgrade_paused` here. */
  alerts: AlertService;
  /** This hub node, as the holder of policy leases. */
  nodeId: string;
  /** How long a node's claim on starting a policy's jobs lasts (renewed while it works on it). */
  leaseMs?: number;
}

export class FirmwarePolicyService {
  /** Work on one policy within this node, one at a time (the lease orders the nodes). */
  readonly #chains = new KeyedChain();

  constructor(private readonly d: FirmwarePolicyServiceDeps) {}

  /** The organization's policies, by device type, with their figures. */
  async list(orgId: string): Promise<FirmwarePolicy[]> {
    const out: FirmwarePolicy[] = [];
    for (const p of await this.d.storage.firmwarePolicies.list(orgId)) {
      const v = await this.#view(p);
      if (v) out.push(v);
    }
    return out;
  }

  /** One policy with its figures, or not_found. */
  async get(orgId: string, type: string): Promise<FirmwarePolicy> {
    const p = await this.d.storage.firmwarePolicies.get(orgId, type);
    const v = p && (await this.#view(p));
    if (!v) throw new BulwarkError('not_found', `no current artifact is set for ${type}`);
    return v;
  }

  /**
   * Marks `req.artifactId` current for `type` under the given limits (defaults for those left
   * out), active with its counts from zero, then offers it to online devices of the type on older
   * versions as far as the gate allows now; the tick offers the rest as the gate opens.
   */
  async set(
    orgId: string,
    type: string,
    req: SetFirmwarePolicy,
    actor: Actor,
  ): Promise<FirmwarePolicy> {
    const artifact = await this.d.storage.firmware.getArtifact(orgId, req.artifactId);
    if (!artifact) throw new BulwarkError('not_found', 'no such firmware artifact');
    if (artifact.state !== 'ready')
      throw new BulwarkError(
        'firmware_artifact_not_ready',
        'upload the image of the artifact first',
      );
    assertReleaseCurrent(artifact, this.d.clock.now());
    if (!artifact.types.includes(type))
      throw new BulwarkError(
        'rollout_type_mismatch',
        `the artifact is for ${artifact.types.join(', ')}, not ${type}`,
      );
    validateLimits(req);
    const now = this.d.clock.now();
    const before = await this.d.storage.firmwarePolicies.get(orgId, type);
    const policy: FirmwarePolicyRecord = {
      orgId,
      deviceType: type,
      artifactId: artifact.id,
      setBy: actor.id ?? actor.type,
      setAt: now,
      maxConcurrent: req.maxConcurrent ?? AUTO_UPGRADE_DEFAULTS.maxConcurrent,
      ratePerMinute: req.ratePerMinute ?? AUTO_UPGRADE_DEFAULTS.ratePerMinute,
      failureThreshold: req.failureThreshold ?? { ...AUTO_UPGRADE_DEFAULTS.failureThreshold },
      window: req.window ? { ...req.window, timezone: req.window.timezone ?? 'UTC' } : null,
      state: 'active',
      pauseReason: null,
      pauseDetail: null,
      baseline: { failures: 0, finished: 0 },
      updatedAt: now,
    };
    await this.d.storage.firmwarePolicies.put(policy);
    if (before) await resolvePolicyAlert(this.d, before);
    await this.#kick(policy);
    return this.get(orgId, type);
  }

  /** Stops auto-upgrading the type; not_found when no policy was set. */
  async clear(orgId: string, type: string): Promise<void> {
    const before = await this.d.storage.firmwarePolicies.get(orgId, type);
    if (!before || !(await this.d.storage.firmwarePolicies.delete(orgId, type)))
      throw new BulwarkError('not_found', `no current artifact is set for ${type}`);
    await resolvePolicyAlert(this.d, before);
  }

  /**
   * Offers again after a pause. Failures so far stop counting toward the threshold: the operator
   * has looked at them and chosen to go on (as a rollout's resume).
   */
  async resume(orgId: string, type: string): Promise<FirmwarePolicy> {
    const p = await this.d.storage.firmwarePolicies.get(orgId, type);
    if (!p) throw new BulwarkError('not_found', `no current artifact is set for ${type}`);
    const conflict = () =>
      new BulwarkError(
        'rollout_state_conflict',
        `the auto-upgrade policy of ${type} is ${p.state}, not paused`,
      );
    if (p.state !== 'paused') throw conflict();
    const { progress } = await this.#gate(p, this.d.clock.now());
    const ok = await this.d.storage.firmwarePolicies.update(orgId, type, p.setAt, ['paused'], {
      state: 'active',
      pauseReason: null,
      pauseDetail: null,
      baseline: { failures: progress.failed, finished: progress.failed + progress.succeeded },
      updatedAt: this.d.clock.now(),
    });
    if (!ok) throw conflict();
    await resolvePolicyAlert(this.d, p);
    await this.#kick(p);
    return this.get(orgId, type);
  }

  /**
   * A device called home running `installed` (the `firmwareReported` signal): if its type has an
   * active policy with a newer artifact that it has not failed, and the gate has room, start a job.
   * A device held back wakes the policy for the tick. Returns whether a job was started.
   */
  async deviceReported(
    orgId: string,
    deviceId: string,
    installed: Pick<InstalledFirmware, 'version'>,
  ): Promise<boolean> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device || device.state === 'decommissioned') return false;
    const policy = await this.d.storage.firmwarePolicies.get(orgId, device.type);
    if (!policy || policy.state !== 'active') return false;
    const artifact = await this.#artifact(policy);
    if (!artifact || isAtLeastVersion(installed.version, artifact.version)) return false;
    if (await this.#triedAndFailed(policy, artifact, deviceId)) return false;
    const store = this.d.storage.firmwarePolicies;
    // Outside its window (a reconnect storm at noon) the device is held back without more reads.
    if (!windowOpen(policy.window, this.d.clock.now())) {
      await store.wake(orgId, policy.deviceType, true);
      return false;
    }
    return this.#chains.run(policyKey(policy), async () => {
      const now = this.d.clock.now();
      // Another node holds the lease: it offers the device on its next tick.
      if (!(await this.#lease(policy, now))) {
        await store.wake(orgId, policy.deviceType, true);
        return false;
      }
      const p = await store.get(orgId, policy.deviceType);
      if (!p || p.state !== 'active' || p.setAt !== policy.setAt) return false;
      const { gate, jobs } = await this.#gate(p, now);
      if (gate.pause) {
        await pausePolicy(this.d, p, 'failure_threshold', gate.pause, jobs);
        return false;
      }
      if (gate.room === 0) {
        await store.wake(orgId, p.deviceType, true);
        return false;
      }
      const started = await this.#deploy(p, artifact, deviceId);
      // Awake until its job ends, so a failure is counted toward the threshold at once.
      if (started) await store.wake(orgId, p.deviceType, false);
      return started;
    });
  }

  /**
   * One pass over the awake policies this node can lease: offers held-back devices as far as each
   * gate allows and pauses policies at their failure threshold. A failing step is told to
   * `onError` (the hub logs it) and the pass goes on.
   */
  async tick(
    now = this.d.clock.now(),
    onError?: (err: unknown, p: FirmwarePolicyRecord) => void,
  ): Promise<{ stepped: number; started: number }> {
    let stepped = 0;
    let started = 0;
    let after: { orgId: string; deviceType: string } | undefined;
    for (let page = 0; page < MAX_SWEEP_PAGES; page++) {
      const batch = await this.d.storage.firmwarePolicies.listAwake(SWEEP_PAGE, after);
      for (const p of batch) {
        if (!(await this.#lease(p, now))) continue;
        try {
          started += await this.#chains.run(policyKey(p), () => this.#step(p, p.wake, now));
          stepped++;
        } catch (err) {
          onError?.(err, p);
        }
      }
      const last = batch[batch.length - 1];
      if (batch.length < SWEEP_PAGE || !last) break;
      after = { orgId: last.orgId, deviceType: last.deviceType };
    }
    return { stepped, started };
  }

  /** Gives up this node's policy leases (a clean stop); returns how many. */
  releaseLeases(): Promise<number> {
    return this.d.storage.firmwarePolicies.releaseLeases(this.d.nodeId);
  }

  /** After set or resume: a step now on this node if it can lease the policy (else the tick's). */
  async #kick(p: FirmwarePolicyRecord): Promise<void> {
    const now = this.d.clock.now();
    if (!(await this.#lease(p, now))) return;
    // A wake seen as 0 settles nothing: the tick still steps the policy once with its real wake.
    await this.#chains.run(policyKey(p), () =>
      this.#step(p, { seq: 0, backlogSeq: 0, backlog: true }, now),
    );
  }

  /** One step under the lease: pause at the threshold, or offer held-back online devices. */
  async #step(listed: FirmwarePolicyRecord, wake: FirmwarePolicyWake, now: number) {
    const store = this.d.storage.firmwarePolicies;
    const p = await store.get(listed.orgId, listed.deviceType);
    if (!p || p.state !== 'active') return 0;
    const settle = (drained: boolean, idle: boolean) =>
      store.settle(p.orgId, p.deviceType, wake, { drained, idle });
    const artifact = await this.#artifact(p);
    const { gate, jobs } = await this.#gate(p, now);
    if (gate.pause) {
      await pausePolicy(this.d, p, 'failure_threshold', gate.pause, jobs);
      return 0;
    }
    if (!artifact) {
      await settle(true, gate.progress.inFlight === 0);
      return 0;
    }
    let started = 0;
    let drained = !wake.backlog;
    if (wake.backlog && gate.room > 0) {
      // Devices refuse expired metadata: pause saying so rather than offer what can only fail.
      if (releaseExpired(artifact, now)) {
        await pausePolicy(this.d, p, 'artifact_expired', {}, []);
        return 0;
      }
      ({ started, drained } = await this.#catchUp(p, artifact, gate.room));
    }
    await settle(drained, drained && gate.progress.inFlight + started === 0);
    return started;
  }

  /** Offers the artifact to up to `room` online devices of the type that need it. */
  async #catchUp(
    p: FirmwarePolicyRecord,
    artifact: FirmwareArtifactRecord,
    room: number,
  ): Promise<{ started: number; drained: boolean }> {
    let started = 0;
    let cursor: string | undefined;
    for (let page = 0; page < MAX_DEVICE_PAGES; page++) {
      const list = await this.d.devices.list(p.orgId, {
        type: p.deviceType,
        limit: DEVICE_PAGE,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const dev of list.items) {
        if (!needs(dev, artifact)) continue;
        // Room filled: the backlog may hold more, the next step with room looks again.
        if (started >= room) return { started, drained: false };
        if (!(await this.d.storage.presence.get(p.orgId, dev.id))?.online) continue;
        if (await this.#triedAndFailed(p, artifact, dev.id)) continue;
        if (await this.#deploy(p, artifact, dev.id)) started++;
      }
      if (list.nextCursor === null) return { started, drained: true };
      cursor = list.nextCursor;
    }
    return { started, drained: false };
  }

  async #deploy(
    p: FirmwarePolicyRecord,
    artifact: FirmwareArtifactRecord,
    deviceId: string,
  ): Promise<boolean> {
    try {
      await this.d.jobs.deploy(p.orgId, deviceId, artifact.id, {
        actor: SYSTEM_ACTOR,
        origin: 'auto-upgrade',
      });
      return true;
    } catch (err) {
      // An open job (a rollout's, a manual one) goes first; the device reports again after it.
      if (err instanceof BulwarkError && SKIPPED.has(err.code)) return false;
      throw err;
    }
  }

  /** The device's newest job of this artifact since the policy was set failed on the device. */
  async #triedAndFailed(
    p: FirmwarePolicyRecord,
    artifact: FirmwareArtifactRecord,
    deviceId: string,
  ): Promise<boolean> {
    const [last] = await this.d.jobStore.list(p.orgId, {
      deviceId,
      artifactId: artifact.id,
      limit: 1,
    });
    return last !== undefined && TRIED_AND_FAILED.includes(last.state) && last.createdAt >= p.setAt;
  }

  async #gate(
    p: FirmwarePolicyRecord,
    now: number,
  ): Promise<{ gate: PolicyGate; jobs: UpdateJobRecord[]; progress: PolicyProgress }> {
    const jobs = await policyJobs(this.d.jobStore, p);
    const gate = policyGate({ now, limits: p, baseline: p.baseline, jobs: engineJobs(jobs) });
    return { gate, jobs, progress: gate.progress };
  }

  async #artifact(p: FirmwarePolicyRecord): Promise<FirmwareArtifactRecord | undefined> {
    const a = await this.d.storage.firmware.getArtifact(p.orgId, p.artifactId);
    return a && a.state === 'ready' ? a : undefined;
  }

  async #view(p: FirmwarePolicyRecord): Promise<FirmwarePolicy | undefined> {
    const a = await this.d.storage.firmware.getArtifact(p.orgId, p.artifactId);
    if (!a) return undefined;
    const { progress } = await this.#gate(p, this.d.clock.now());
    if (p.state !== 'active') progress.nextEligibleAt = null;
    return { ...p, version: a.version, progress };
  }

  #lease(p: Pick<FirmwarePolicyRecord, 'orgId' | 'deviceType'>, now: number): Promise<boolean> {
    const until = now + (this.d.leaseMs ?? 30_000);
    return this.d.storage.firmwarePolicies.lease(p.orgId, p.deviceType, this.d.nodeId, now, until);
  }
}

/** Needs the artifact: in service, its last reported version known and older. */
const needs = (dev: Device, artifact: FirmwareArtifactRecord): boolean =>
  dev.state !== 'decommissioned' &&
  dev.firmwareVersion !== null &&
  !isAtLeastVersion(dev.firmwareVersion, artifact.version);

/**
 * The auto-upgrade policy (issue 6, decision 0011): an artifact marked current for a device type is
 * installed, without a rollout, on every device of that type that calls home on an older version.
 * A device whose auto-upgrade to this artifact failed is not offered it again until the policy is
 * set anew, so a bad image does not loop through install and rollback on every connect.
 */
import { BulwarkError, type InstalledFirmware } from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import { forEachMatchingDevice } from '../management/bulk.js';
import type { Actor } from '../management/signals.js';
import { assertReleaseCurrent } from '../firmware/release-expiry.js';
import type { Clock } from '../ports/clock.js';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { FirmwarePolicyRecord } from '../ports/rollouts.js';
import type { Storage } from '../ports/storage.js';
import { SYSTEM_ACTOR, type JobReader, type JobStarter } from './rollout-inputs.js';
import { isAtLeastVersion } from '@bulwark/protocol';

/** Online devices a newly set policy updates at once; the others get it on their next report. */
export const AUTO_UPGRADE_BATCH = 1000;

/**
 * Outcomes after which the same artifact is not offered again by the policy: the device tried it and
 * it did not work. A timed-out or canceled job (e.g. the device was away) does not count.
 */
const TRIED_AND_FAILED = ['failed', 'rolled_back', 'rejected'];

/** A policy with its artifact's version. */
export interface FirmwarePolicy extends FirmwarePolicyRecord {
  version: string;
}

export class FirmwarePolicyService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      devices: DeviceService;
      jobs: JobStarter;
      jobStore: JobReader;
    },
  ) {}

  /** The organization's policies, by device type. */
  async list(orgId: string): Promise<FirmwarePolicy[]> {
    const out: FirmwarePolicy[] = [];
    for (const p of await this.d.storage.firmwarePolicies.list(orgId)) {
      const a = await this.d.storage.firmware.getArtifact(orgId, p.artifactId);
      if (a) out.push({ ...p, version: a.version });
    }
    return out;
  }

  /**
   * Marks `artifactId` current for `type`, then updates up to AUTO_UPGRADE_BATCH devices of the type
   * that are online and known (from their last report) to run an older version. Offline devices
   * get it when they next call home.
   */
  async set(
    orgId: string,
    type: string,
    artifactId: string,
    actor: Actor,
  ): Promise<FirmwarePolicy> {
    const artifact = await this.d.storage.firmware.getArtifact(orgId, artifactId);
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
    const policy: FirmwarePolicyRecord = {
      orgId,
      deviceType: type,
      artifactId,
      setBy: actor.id ?? actor.type,
      setAt: this.d.clock.now(),
    };
    await this.d.storage.firmwarePolicies.put(policy);
    await this.#catchUp(policy, artifact);
    return { ...policy, version: artifact.version };
  }

  /** Stops auto-upgrading the type; not_found when no policy was set. */
  async clear(orgId: string, type: string): Promise<void> {
    if (!(await this.d.storage.firmwarePolicies.delete(orgId, type)))
      throw new BulwarkError('not_found', `no current artifact is set for ${type}`);
  }

  /**
   * A device called home running `installed` (the `firmwareReported` signal): if its type has a
   * current artifact newer than that and it has no open job, start one. Returns whether it did.
   */
  async deviceReported(
    orgId: string,
    deviceId: string,
    installed: Pick<InstalledFirmware, 'version'>,
  ): Promise<boolean> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device || device.state === 'decommissioned') return false;
    const policy = await this.d.storage.firmwarePolicies.get(orgId, device.type);
    if (!policy) return false;
    const artifact = await this.d.storage.firmware.getArtifact(orgId, policy.artifactId);
    if (!artifact || artifact.state !== 'ready') return false;
    return this.#offer(policy, artifact, deviceId, installed.version);
  }

  async #offer(
    policy: FirmwarePolicyRecord,
    artifact: FirmwareArtifactRecord,
    deviceId: string,
    version: string | null,
  ): Promise<boolean> {
    if (version === null || isAtLeastVersion(version, artifact.version)) return false;
    const [last] = await this.d.jobStore.list(policy.orgId, {
      deviceId,
      artifactId: artifact.id,
      limit: 1,
    });
    if (last && TRIED_AND_FAILED.includes(last.state) && last.createdAt >= policy.setAt)
      return false;
    try {
      await this.d.jobs.deploy(policy.orgId, deviceId, artifact.id, {
        actor: SYSTEM_ACTOR,
        origin: 'auto-upgrade',
      });
      return true;
    } catch (err) {
      // An open job (a rollout's, a manual one) goes first; the device reports again after it.
      if (
        err instanceof BulwarkError &&
        ['update_job_open', 'update_incompatible', 'firmware_metadata_expired'].includes(err.code)
      )
        return false;
      throw err;
    }
  }

  async #catchUp(policy: FirmwarePolicyRecord, artifact: FirmwareArtifactRecord): Promise<void> {
    let offered = 0;
    try {
      await forEachMatchingDevice(
        this.d.devices,
        policy.orgId,
        { type: policy.deviceType },
        async (dev) => {
          if (offered >= AUTO_UPGRADE_BATCH) return;
          if (!(await this.d.storage.presence.get(policy.orgId, dev.id))?.online) return;
          if (await this.#offer(policy, artifact, dev.id, dev.firmwareVersion)) offered++;
        },
      );
    } catch (err) {
      // More devices than a bulk operation reads: they all get it on their next report.
      if (!(err instanceof BulwarkError && err.code === 'validation_failed')) throw err;
    }
  }
}

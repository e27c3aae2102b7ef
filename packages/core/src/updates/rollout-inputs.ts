/**
 * What a rollout step reads: the target devices as they are now (dynamic membership) and the
 * rollout's jobs. Both are bounded: a target is at most MAX_BULK_DEVICES devices (as for every bulk
 * operation) and the jobs are read in pages up to a fixed ceiling.
 */
import { BulwarkError, type UpdateJobState } from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import { forEachMatchingDevice } from '../management/bulk.js';
import type { Actor } from '../management/signals.js';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { Device } from '../ports/records.js';
import type { RolloutRecord } from '../ports/rollouts.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobRecord, UpdateJobStore } from '../ports/updates.js';
import type { EngineDevice, EngineJob } from './rollout-engine.js';
import { isAtLeastVersion } from '@bulwark/protocol';

/** Jobs read per page, and the most pages one step reads (20,000 jobs: twice the largest target). */
const JOB_PAGE = 1000;
const MAX_JOB_PAGES = 20;

/**
 * The part of the update-job service rollouts and auto-upgrade use (UpdateJobService satisfies
 * it). `deploy` throws `update_job_open` when the device has an open job, the backstop that keeps
 * two hub nodes from both starting a job on one device.
 */
export interface JobStarter {
  deploy(
    orgId: string,
    deviceId: string,
    artifactId: string,
    opts: {
      actor: Actor;
      origin?: 'deploy' | 'rollout' | 'auto-upgrade';
      rolloutId?: string;
      timeoutSeconds?: number;
    },
  ): Promise<UpdateJobRecord>;
  cancel(orgId: string, jobId: string, actor: Actor): Promise<unknown>;
}

/** Reading jobs: the UpdateJobStore's list. */
export type JobReader = Pick<UpdateJobStore, 'list'>;

/** What the rollout services need. */
export interface RolloutDeps {
  storage: Storage;
  devices: DeviceService;
  jobs: JobStarter;
  jobStore: JobReader;
}

/** The hub acting on its own (automatic pauses, rollout and auto-upgrade deployments). */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: null, source: 'rollouts' };

/**
 * The target devices of a rollout now: matching every condition of the target, not
 * decommissioned, of a type the artifact fits. `deviceIds` (a "group") are read one by one; ids no
 * longer in the registry drop out.
 */
export async function targetDevices(
  d: Pick<RolloutDeps, 'devices' | 'storage'>,
  r: Pick<RolloutRecord, 'orgId' | 'target'>,
  artifact: FirmwareArtifactRecord,
): Promise<Device[]> {
  const { type, tags, location, deviceIds } = r.target;
  const out: Device[] = [];
  if (deviceIds !== undefined) {
    for (const id of new Set(deviceIds)) {
      const dev = await d.storage.devices.get(r.orgId, id);
      if (dev === undefined) continue;
      if (type !== undefined && dev.type !== type) continue;
      if (tags !== undefined && !tags.every((t) => dev.tags.includes(t))) continue;
      out.push(dev);
    }
    if (location !== undefined) {
      const inside = new Set(await locationSubtree(d, r.orgId, location));
      return keep(out.filter((dev) => dev.locationId !== null && inside.has(dev.locationId)));
    }
    return keep(out);
  }
  await forEachMatchingDevice(
    d.devices,
    r.orgId,
    {
      ...(type !== undefined ? { type } : {}),
      ...(tags !== undefined ? { tag: tags } : {}),
      ...(location !== undefined ? { location } : {}),
    },
    async (dev) => {
      out.push(dev);
    },
  );
  return keep(out);

  function keep(list: Device[]): Device[] {
    return list
      .filter((dev) => dev.state !== 'decommissioned' && artifact.types.includes(dev.type))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

async function locationSubtree(
  d: Pick<RolloutDeps, 'storage'>,
  orgId: string,
  root: string,
): Promise<string[]> {
  const all = await d.storage.locations.list(orgId);
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const l of all) if (l.parentId === out[i]) out.push(l.id);
  }
  return out;
}

/** The devices as the engine sees them: `current` when on the artifact's version or newer. */
export const engineDevices = (
  devices: Device[],
  artifact: FirmwareArtifactRecord,
): EngineDevice[] =>
  devices.map((dev) => ({
    id: dev.id,
    current: isAtLeastVersion(dev.firmwareVersion, artifact.version),
  }));

/** Every job of the rollout (newest first from the store), bounded by MAX_JOB_PAGES pages. */
export async function rolloutJobs(
  store: JobReader,
  orgId: string,
  rolloutId: string,
  states?: UpdateJobState[],
): Promise<UpdateJobRecord[]> {
  const out: UpdateJobRecord[] = [];
  let before: string | undefined;
  for (let page = 0; page < MAX_JOB_PAGES; page++) {
    const batch = await store.list(orgId, {
      rolloutId,
      limit: JOB_PAGE,
      ...(states !== undefined ? { states } : {}),
      ...(before !== undefined ? { before } : {}),
    });
    out.push(...batch);
    if (batch.length < JOB_PAGE) return out;
    before = batch[batch.length - 1]?.id;
  }
  throw new BulwarkError(
    'internal_error',
    `rollout ${rolloutId} has more jobs than one step reads`,
  );
}

export const engineJobs = (jobs: UpdateJobRecord[]): EngineJob[] =>
  jobs.map((j) => ({
    id: j.id,
    deviceId: j.deviceId,
    state: j.state,
    createdAt: j.createdAt,
    cancelRequested: j.cancelRequested !== null,
  }));

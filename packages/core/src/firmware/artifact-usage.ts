/**
 * What still uses a firmware artifact (decision 0007, "Delete"): an open update job, a running or
 * paused rollout, an auto-upgrade policy naming it as current. The repository refuses to delete
 * an artifact in use (`firmware_artifact_in_use`); a job or rollout started between this check and
 * the delete still meets the backstops (`artifact_missing`, decision 0008 / 0011).
 */
import { UPDATE_JOB_PROGRESSION } from '@bulwark/protocol';
import type { FirmwarePolicyStore, RolloutStore } from '../ports/rollouts.js';
import type { UpdateJobStore } from '../ports/updates.js';

/** The stores the check reads (the hub's `Storage` has all three). */
export interface ArtifactUsageStores {
  updateJobs: UpdateJobStore;
  rollouts: RolloutStore;
  firmwarePolicies: FirmwarePolicyStore;
}

/** How many users of each kind a refusal names (enough to act on; the count is given too). */
const SHOWN = 3;

/** One kind of use, with the few examples the message names and whether there are more. */
export interface ArtifactUse {
  kind: 'update_job' | 'rollout' | 'policy';
  /** Job ids, rollout ids or device types (at most three). */
  ids: string[];
  more: boolean;
}

/** Every current use of the artifact, by kind (empty: nothing uses it). */
export async function artifactUses(
  s: ArtifactUsageStores,
  orgId: string,
  artifactId: string,
): Promise<ArtifactUse[]> {
  const uses: ArtifactUse[] = [];
  const jobs = await s.updateJobs.list(orgId, {
    artifactId,
    states: [...UPDATE_JOB_PROGRESSION], // the open (non-terminal) states
    limit: SHOWN + 1,
  });
  if (jobs.length > 0) {
    uses.push({
      kind: 'update_job',
      ids: jobs.slice(0, SHOWN).map((j) => j.id),
      more: jobs.length > SHOWN,
    });
  }
  const rollouts = [
    ...(await s.rollouts.list(orgId, { artifactId, state: 'running', limit: SHOWN + 1 })),
    ...(await s.rollouts.list(orgId, { artifactId, state: 'paused', limit: SHOWN + 1 })),
  ];
  if (rollouts.length > 0) {
    uses.push({
      kind: 'rollout',
      ids: rollouts.slice(0, SHOWN).map((r) => r.id),
      more: rollouts.length > SHOWN,
    });
  }
  const policies = (await s.firmwarePolicies.list(orgId)).filter(
    (p) => p.artifactId === artifactId,
  );
  if (policies.length > 0) {
    uses.push({
      kind: 'policy',
      ids: policies.slice(0, SHOWN).map((p) => p.deviceType),
      more: policies.length > SHOWN,
    });
  }
  return uses;
}

const WHAT: Record<ArtifactUse['kind'], string> = {
  update_job: 'open update job(s)',
  rollout: 'running or paused rollout(s)',
  policy: 'the auto-upgrade policy of device type(s)',
};

const NEXT: Record<ArtifactUse['kind'], string> = {
  update_job: 'let them finish or cancel them',
  rollout: 'cancel them',
  policy: 'clear or replace it',
};

/** One sentence naming what uses the artifact and what to do about it. */
export function describeArtifactUses(uses: readonly ArtifactUse[]): string {
  const parts = uses.map(
    (u) => `${WHAT[u.kind]} ${u.ids.join(', ')}${u.more ? ' and more' : ''} (${NEXT[u.kind]})`,
  );
  return `the artifact is in use by ${parts.join('; ')}`;
}

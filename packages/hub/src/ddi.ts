/**
 * Wires the hawkBit DDI device API (decision 0012) to the hub's services: jobs from the update-job
 * service and store, artifacts from the firmware repository, attributes into the device twin.
 * Feedback that changes a job's state is audited here, with the device as the actor: DDI routes
 * are not in the route table, whose mutations are audited by the HTTP layer.
 */
import type { Storage } from '@bulwark/core';
import type { UpdateStatusReport } from '@bulwark/protocol';
import type { DdiDeps } from '@bulwark/transport';
import type { HubConfig } from './config.js';
import type { HubServices } from './services.js';

/** The DDI routes' dependencies. */
export function ddiDeps(
  services: HubServices,
  storage: Storage,
  config: Pick<HubConfig, 'ddiPollSeconds'>,
  publicOrigin: () => string,
): DdiDeps {
  return {
    admission: services.admission,
    publicOrigin,
    firmware: services.firmware,
    twins: services.twins,
    pollSeconds: config.ddiPollSeconds,
    jobs: {
      openFor: (orgId, deviceId) => services.updates.openFor(orgId, deviceId),
      byActionId: (orgId, actionId) => storage.updateJobs.getByActionId(orgId, actionId),
      report: async (orgId, deviceId, jobId, r) => {
        const before = await storage.updateJobs.get(orgId, jobId);
        const outcome = await services.updates.report(orgId, deviceId, jobId, r);
        // Progress within `downloading` (e.g. SWUpdate's log lines) is not a change of state.
        if (
          outcome === 'applied' &&
          before &&
          !(before.state === 'downloading' && r.state === 'downloading')
        )
          await auditFeedback(services, orgId, deviceId, before, r);
        return outcome;
      },
      delivered: (orgId, jobId) => services.updates.delivered(orgId, jobId),
      latestFor: async (orgId, deviceId) =>
        (await storage.updateJobs.list(orgId, { deviceId, limit: 1 }))[0],
    },
  };
}

/** Records a controller's feedback that moved its job (`update.job.reported`, actor the device). */
async function auditFeedback(
  services: HubServices,
  orgId: string,
  deviceId: string,
  job: { id: string; actionId: number; artifactId: string; state: string },
  r: UpdateStatusReport,
): Promise<void> {
  await services.audit.record({
    orgId,
    actorType: 'device',
    actorId: deviceId,
    action: 'update.job.reported',
    targetType: 'device',
    targetId: deviceId,
    source: null,
    result: 'success',
    detail: {
      via: 'ddi',
      jobId: job.id,
      actionId: job.actionId,
      artifactId: job.artifactId,
      from: job.state,
      to: r.state,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
    },
  });
}

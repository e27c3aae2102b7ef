/**
 * Wires the hawkBit DDI device API (decision 0012) to the hub's services: jobs from the update-job
 * service and store, artifacts from the firmware repository, attributes into the device twin.
 */
import type { Storage } from '@bulwark/core';
import type { DdiDeps } from '@bulwark/transport';
import type { HubConfig } from './config.js';
import type { HubServices } from './services.js';

/** The DDI routes' dependencies. */
export function ddiDeps(
  services: HubServices,
  storage: Storage,
  config: Pick<HubConfig, 'ddiPollSeconds'>,
): DdiDeps {
  return {
    pki: services.pki,
    firmware: services.firmware,
    twins: services.twins,
    pollSeconds: config.ddiPollSeconds,
    jobs: {
      openFor: (orgId, deviceId) => services.updates.openFor(orgId, deviceId),
      byActionId: (orgId, actionId) => storage.updateJobs.getByActionId(orgId, actionId),
      report: (orgId, deviceId, jobId, r) => services.updates.report(orgId, deviceId, jobId, r),
      delivered: (orgId, jobId) => services.updates.delivered(orgId, jobId),
      latestFor: async (orgId, deviceId) =>
        (await storage.updateJobs.list(orgId, { deviceId, limit: 1 }))[0],
    },
  };
}

import type { BodyOf, Call, QueryOf } from '../types.js';

/** Rollouts of a firmware artifact to many devices (decision 0011). */
export function rolloutsApi(call: Call) {
  return {
    /** Starts a rollout; the answer carries its initial progress. */
    create: (body: BodyOf<'createRollout'>) => call('createRollout', { body }),
    /** The organization's rollouts, newest first (without progress). */
    list: (query: QueryOf<'listRollouts'> = {}) => call('listRollouts', { query }),
    /** One rollout with its live progress. */
    get: (id: string) => call('getRollout', { params: { id } }),
    pause: (id: string, reason?: string) =>
      call('pauseRollout', { params: { id }, body: reason === undefined ? {} : { reason } }),
    resume: (id: string) => call('resumeRollout', { params: { id } }),
    cancel: (id: string) => call('cancelRollout', { params: { id } }),
  };
}

/** The auto-upgrade policy: the current artifact of each device type. */
export function firmwarePoliciesApi(call: Call) {
  return {
    list: () => call('listFirmwarePolicies'),
    /** Marks `artifactId` current for `type`: devices of the type on older versions get it. */
    set: (type: string, artifactId: string) =>
      call('setFirmwarePolicy', { params: { type }, body: { artifactId } }),
    clear: (type: string) => call('clearFirmwarePolicy', { params: { type } }),
  };
}

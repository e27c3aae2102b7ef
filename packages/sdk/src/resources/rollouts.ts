import type { BodyOf, Call, QueryOf } from '../types.js';

/** Rollouts of a firmware artifact to many devices (decision 0011). */
export function rolloutsApi(call: Call) {
  return {
    /** Starts a rollout; the answer carries its initial progress. */
    create: (body: BodyOf<'createRollout'>) => call('createRollout', { body }),
    /** What `create` would do now (same checks): matched devices and phase sizes; nothing stored. */
    preview: (body: BodyOf<'previewRollout'>) => call('previewRollout', { body }),
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

/** The auto-upgrade policy: the current artifact of each device type, offered within limits. */
export function firmwarePoliciesApi(call: Call) {
  return {
    /** Every device type's policy with its state and figures. */
    list: () => call('listFirmwarePolicies'),
    /** One type's policy: limits, state (active or paused), in flight, succeeded, failed. */
    get: (type: string) => call('getFirmwarePolicy', { params: { type } }),
    /**
     * Marks `artifactId` current for `type`: devices of the type on older versions get it, at
     * most `maxConcurrent` at a time (default 2), within the rate and window, pausing at the
     * failure threshold (default 20% once 2 finished).
     */
    set: (
      type: string,
      artifactId: string,
      limits: Omit<BodyOf<'setFirmwarePolicy'>, 'artifactId'> = {},
    ) => call('setFirmwarePolicy', { params: { type }, body: { ...limits, artifactId } }),
    /** Offers again after an automatic pause (failures so far stop counting). */
    resume: (type: string) => call('resumeFirmwarePolicy', { params: { type } }),
    clear: (type: string) => call('clearFirmwarePolicy', { params: { type } }),
  };
}

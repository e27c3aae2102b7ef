import { paginate } from '../paginate.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

/**
 * Mitigations (decision 0036): act on a device (or dry-run it), the action log, reverts, and the
 * policies that act on alerts.
 */
export function mitigationsApi(call: Call) {
  const id = (x: string) => ({ params: { id: x } });
  return {
    /** Quarantine, release, revoke, set desired values, start an update or notify; `dryRun` changes nothing. */
    apply: (deviceId: string, body: BodyOf<'mitigateDevice'>) =>
      call('mitigateDevice', { ...id(deviceId), body }),
    /**
     * Blocks a source address at the edge of every node for a while (`block_source`): the
     * alert's source (`alertId`) or `params.source`; a revert releases it.
     */
    blockSource: (body: BodyOf<'mitigateSource'>) => call('mitigateSource', { body }),
    /** One page of the action log, newest first. */
    list: (query: QueryOf<'listMitigations'> = {}) => call('listMitigations', { query }),
    /** Every action matching the query, following `nextCursor` page by page. */
    all: (query: QueryOf<'listMitigations'> = {}) =>
      paginate((cursor) => call('listMitigations', { query: { ...query, cursor } })),
    get: (mitigationId: string) => call('getMitigation', id(mitigationId)),
    /** Undoes an applied action; a revocation or notification is refused with the reason. */
    revert: (mitigationId: string) => call('revertMitigation', { ...id(mitigationId), body: {} }),
    policies: {
      list: () => call('listMitigationPolicies', {}),
      /** The policy acts with the caller's authority. */
      create: (body: BodyOf<'createMitigationPolicy'>) => call('createMitigationPolicy', { body }),
      get: (policyId: string) => call('getMitigationPolicy', id(policyId)),
      update: (policyId: string, body: BodyOf<'updateMitigationPolicy'>) =>
        call('updateMitigationPolicy', { ...id(policyId), body }),
      delete: (policyId: string) => call('deleteMitigationPolicy', id(policyId)),
    },
  };
}

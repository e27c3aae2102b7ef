import type { BodyOf, Call } from '../types.js';

/** Fleet provisioning (decision 0027): bulk registration and provisioning claims. */
export function provisioningApi(call: Call) {
  return {
    /**
     * Registers up to 1,000 devices with their one-time enrollment tokens in one transaction; a
     * bad row writes nothing and the error's `rows` says why per row.
     */
    importDevices: (body: BodyOf<'importDevices'>) => call('importDevices', { body }),
    /** A claim for a production batch; its token is in this response only. */
    createClaim: (body: BodyOf<'createProvisioningClaim'>) =>
      call('createProvisioningClaim', { body }),
    /** The organization's claims, newest first. */
    listClaims: () => call('listProvisioningClaims'),
    /** One claim. */
    getClaim: (id: string) => call('getProvisioningClaim', { params: { id } }),
    /** Revokes a claim at once. */
    revokeClaim: (id: string) => call('revokeProvisioningClaim', { params: { id }, body: {} }),
    /** A device's first boot: claim token, hardware id and CSR → its device and certificate. */
    claim: (body: BodyOf<'claimDevice'>) => call('claimDevice', { body }),
  };
}

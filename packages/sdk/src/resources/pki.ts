import type { Call } from '../types.js';

/** The organization's CAs and revocation list, and certificate renewal. */
export function pkiApi(call: Call) {
  return {
    /** The root and issuing CA of the caller's organization and the hub's server CA (PEM). */
    caBundle: () => call('getCaBundle'),
    /** The organization's CRL as PEM text (public). */
    crl: (orgId: string) => call('getCrl', { params: { id: orgId } }),
    /** Renews a device certificate; the fetch must present the current one (mutual TLS). */
    renew: (csr: string) => call('renewCertificate', { body: { csr } }),
  };
}

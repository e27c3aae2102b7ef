import type { BodyOf, Call, QueryOf } from '../types.js';

/** One-time access tickets for devices' local management ports, and backup tickets. */
export function ticketsApi(call: Call) {
  return {
    /** Issues a ticket for one device and one permission level; the signed ticket is shown once. */
    issue: (deviceId: string, body: BodyOf<'issueTicket'>) =>
      call('issueTicket', { params: { id: deviceId }, body }),
    /** The device's tickets, newest first (unexpired ones unless `all`). */
    list: (deviceId: string, query: QueryOf<'listTickets'> = {}) =>
      call('listTickets', { params: { id: deviceId }, query }),
    /** Revokes a ticket; a backup ticket's revocation reaches the device through its twin. */
    revoke: (deviceId: string, jti: string) =>
      call('revokeTicket', { params: { id: deviceId, jti }, body: {} }),
    /**
     * Opens a remote-access tunnel (decision 0042): issues its one-time ticket, creates the relay
     * session and asks the device to dial it; the result says where to dial and what to pin.
     */
    openTunnel: (deviceId: string, body: BodyOf<'openTunnel'>) =>
      call('openTunnel', { params: { id: deviceId }, body }),
  };
}

import { paginate } from '../paginate.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

/** Why a certificate is revoked (RFC 5280 §5.3.1 reason names). */
export type RevocationReason = NonNullable<BodyOf<'revokeCertificate'>['reason']>;

/** Device management: registration, state, enrollment tokens, certificates and device keys. */
export function devicesApi(call: Call) {
  return {
    /** One page of devices matching the filters. */
    list: (query: QueryOf<'listDevices'> = {}) => call('listDevices', { query }),
    /** Every device matching the filters, following `nextCursor` page by page. */
    all: (query: QueryOf<'listDevices'> = {}) =>
      paginate((cursor) => call('listDevices', { query: { ...query, cursor } })),
    /**
     * Tags, moves, quarantines, releases or updates the named devices, each on its own: the
     * answer says per device whether it was done or why it was refused (nothing changed for it).
     */
    bulkAction: (body: BodyOf<'bulkDeviceActions'>) => call('bulkDeviceActions', { body }),
    /** Registers a device. */
    create: (body: BodyOf<'createDevice'>) => call('createDevice', { body }),
    /** One device by id. */
    get: (id: string) => call('getDevice', { params: { id } }),
    /** Changes a device (name, type, tags, mode, location, quarantine state). */
    update: (id: string, body: BodyOf<'updateDevice'>) =>
      call('updateDevice', { params: { id }, body }),
    /** Decommissions a device, revoking all its certificates and keys. */
    decommission: (id: string) => call('decommissionDevice', { params: { id }, body: {} }),
    /** A one-time, expiring token with which the device enrolls its CSR. */
    createEnrollmentToken: (id: string, body: BodyOf<'createEnrollmentToken'> = {}) =>
      call('createEnrollmentToken', { params: { id }, body }),
    /** The device's certificates, newest first. */
    certificates: (id: string) => call('listCertificates', { params: { id } }),
    /** Revokes one of the device's certificates at once, with every certificate renewed from it. */
    revokeCertificate: (id: string, serial: string, reason?: RevocationReason) =>
      call('revokeCertificate', {
        params: { id, serial },
        body: reason === undefined ? {} : { reason },
      }),
    /** Revokes every live certificate of the device at once; returns those revoked now. */
    revokeAllCertificates: (id: string, reason?: RevocationReason) =>
      call('revokeAllCertificates', {
        params: { id },
        body: reason === undefined ? {} : { reason },
      }),
    /** The device's keys (for devices without a certificate). */
    keys: (id: string) => call('listDeviceKeys', { params: { id } }),
    /** Creates a random device key; the secret is in this response only. */
    createKey: (id: string) => call('createDeviceKey', { params: { id }, body: {} }),
    /** Revokes a device key. */
    revokeKey: (id: string, keyId: string) => call('revokeDeviceKey', { params: { id, keyId } }),
    /** Sets the device's DTLS pre-shared key (made by the hub unless `key` is given, hex); shown once. */
    setPsk: (id: string, body: { identity: string; key?: string; bootstrap?: boolean }) =>
      call('setDevicePsk', { params: { id }, body }),
    /** Removes the device's DTLS pre-shared key. */
    removePsk: (id: string) => call('removeDevicePsk', { params: { id } }),
    /** Pins the device's ECDSA P-256 public key (PEM) for DTLS with raw public keys (RFC 7250). */
    setRpk: (id: string, publicKey: string) =>
      call('setDeviceRpk', { params: { id }, body: { publicKey } }),
    /** Removes the device's pinned raw public key. */
    removeRpk: (id: string) => call('removeDeviceRpk', { params: { id } }),
    /**
     * Rotates an LwM2M device's PSK (decision 0045): its next Update is refused, it bootstraps
     * again with its current key and is given a fresh one.
     */
    rebootstrapLwm2m: (id: string) => call('rebootstrapLwm2m', { params: { id }, body: {} }),
    /**
     * Reads (or Discovers, `discover: true`) a path of an LwM2M device: a command whose result
     * holds the values by path; wait for it with `commands.wait` (decision 0043).
     */
    lwm2mRead: (id: string, body: BodyOf<'lwm2mRead'>) =>
      call('lwm2mRead', { params: { id }, body }),
    /**
     * Write, Execute, Create, Delete or Write-Attributes on an LwM2M device: a command (held for a
     * device in queue mode until it wakes; `lwm2m_queue_full` beyond 32 open per device).
     */
    lwm2mOperate: (id: string, body: BodyOf<'lwm2mOperate'>) =>
      call('lwm2mOperate', { params: { id }, body }),
  };
}

/**
 * The checks every pre-shared key given to a device goes through, whatever its kind (a device PSK,
 * decision 0041, or a factory bootstrap PSK, decision 0045): the device exists in the organization
 * and is not decommissioned, the identity is typeable, the key long enough. A key is made when none
 * is given.
 */
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { Storage } from '../ports/storage.js';

export async function checkPskRequest(
  devices: Storage['devices'],
  orgId: string,
  deviceId: string,
  req: { identity: string; key?: Buffer },
): Promise<{ identity: string; key: Buffer }> {
  const device = await devices.get(orgId, deviceId);
  if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
  if (device.state === 'decommissioned') {
    throw new BulwarkError('device_decommissioned', `device ${deviceId} is decommissioned`);
  }
  const { identity } = req;
  // RFC 4279 §5.1: identities are UTF-8 of at most 128 bytes; printable ASCII keeps them
  // typeable into device configuration (and out of log-injection trouble).
  if (!/^[\x21-\x7e]{1,128}$/.test(identity)) {
    throw new BulwarkError(
      'validation_failed',
      'a PSK identity is 1–128 printable ASCII characters',
    );
  }
  const key = req.key ?? randomBytes(16);
  // 16 bytes is what tinydtls (Wakaama) takes at most; below 16 a key is guessable offline from
  // one recorded handshake (RFC 4279 §7).
  if (key.length < 16 || key.length > 64) {
    throw new BulwarkError('validation_failed', 'a PSK is 16–64 bytes');
  }
  return { identity, key };
}

/**
 * Pinned raw public keys of devices for CoAP over DTLS (RFC 7250; decision 0041, 2026-12-07): the
 * SHA-256 of a device's SubjectPublicKeyInfo names the device hub-wide, so a handshake that proves
 * the key finds the device. A public key is no secret: kept plain in the system store, two rows as
 * the device PSKs are (fingerprint → pin, device → fingerprint). One key per device.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { Storage } from '../ports/storage.js';
import { sha256Hex } from '../shared/hash.js';

const byKey = (fingerprint: string): string => `dtls-rpk/key/${fingerprint}`;
const byDevice = (deviceId: string): string => `dtls-rpk/device/${deviceId}`;

/** A pinned key: whose it is. */
export interface DeviceRpk {
  fingerprint: string;
  orgId: string;
  deviceId: string;
  createdAt: number;
}

/** The SPKI (DER) of a PEM public key, which must be ECDSA P-256 (the DTLS suites are ECDSA). */
export function rpkSpki(publicKeyPem: string): Buffer {
  // createPublicKey would derive a public key from a private one: a private key is refused, never
  // taken (it must not travel to the hub).
  if (/PRIVATE KEY/.test(publicKeyPem))
    throw new BulwarkError('validation_failed', 'publicKey is a private key; send the public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicKeyPem, format: 'pem' });
  } catch {
    throw new BulwarkError('validation_failed', 'publicKey is not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new BulwarkError('validation_failed', 'publicKey must be an ECDSA P-256 key');
  return key.export({ format: 'der', type: 'spki' });
}

/** Devices' pinned DTLS raw public keys. */
export class DeviceRpkService {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'system' | 'devices'>;
      clock: Clock;
      /** Told when a pin is replaced or removed, so live sessions made with the key end. */
      events?: Pick<DomainEvents, 'emit'>;
    },
  ) {}

  /** Pins a device's key (replacing its previous one); a key pinned to another device: conflict. */
  async set(orgId: string, deviceId: string, publicKeyPem: string): Promise<DeviceRpk> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
    if (device.state === 'decommissioned')
      throw new BulwarkError('device_decommissioned', `device ${deviceId} is decommissioned`);
    const fingerprint = sha256Hex(rpkSpki(publicKeyPem));
    const pin: DeviceRpk = { fingerprint, orgId, deviceId, createdAt: this.d.clock.now() };
    const current = await this.d.storage.system.get(byKey(fingerprint));
    if (current !== undefined && (JSON.parse(current) as DeviceRpk).deviceId !== deviceId)
      throw new BulwarkError('conflict', 'this public key is pinned to another device');
    if (
      !(await this.d.storage.system.compareAndSet(byKey(fingerprint), current, JSON.stringify(pin)))
    )
      throw new BulwarkError('conflict', 'the pin changed meanwhile; try again');
    const previous = await this.d.storage.system.get(byDevice(deviceId));
    await this.d.storage.system.put(byDevice(deviceId), fingerprint);
    if (previous !== undefined && previous !== fingerprint) {
      await this.#unpin(previous, deviceId);
      this.#revoked(orgId, deviceId, previous);
    }
    return pin;
  }

  /** The fingerprint of the device's pinned key, or undefined. */
  async fingerprintOf(orgId: string, deviceId: string): Promise<string | undefined> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
    return this.d.storage.system.get(byDevice(deviceId));
  }

  /** Removes the device's pin: its next request and handshake are refused. */
  async remove(orgId: string, deviceId: string): Promise<boolean> {
    const fingerprint = await this.fingerprintOf(orgId, deviceId);
    if (fingerprint === undefined) return false;
    await this.#unpin(fingerprint, deviceId);
    await this.d.storage.system.compareAndSet(byDevice(deviceId), fingerprint, undefined);
    this.#revoked(orgId, deviceId, fingerprint);
    return true;
  }

  /** The pin of a key's fingerprint (hex SHA-256 of the SPKI), for the handshake and admission. */
  async resolve(fingerprint: string): Promise<DeviceRpk | undefined> {
    const raw = await this.d.storage.system.get(byKey(fingerprint));
    return raw === undefined ? undefined : (JSON.parse(raw) as DeviceRpk);
  }

  #revoked(orgId: string, deviceId: string, fingerprint: string): void {
    this.d.events?.emit({
      type: 'device_rpk.revoked',
      orgId,
      deviceId,
      fingerprint,
      at: this.d.clock.now(),
    });
  }

  async #unpin(fingerprint: string, deviceId: string): Promise<void> {
    const raw = await this.d.storage.system.get(byKey(fingerprint));
    if (raw === undefined || (JSON.parse(raw) as DeviceRpk).deviceId !== deviceId) return;
    await this.d.storage.system.compareAndSet(byKey(fingerprint), raw, undefined);
  }
}

/**
 * Pre-shared keys of devices for CoAP over DTLS (RFC 4279; decision 0041). The server must hold
 * the key itself, so it is sealed with the master key (SecretBox) like the CA keys. One identity
 * per device; an identity names one device hub-wide (the handshake knows nothing else). Kept in the
 * system store as two rows: identity → sealed record, device → identity.
 */
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { Storage } from '../ports/storage.js';
import type { SecretBox } from '../shared/secret-box.js';
import { checkPskRequest } from './psk-request.js';

const CONTEXT = 'bulwark device psk v1';
const byIdentity = (identity: string): string => `dtls-psk/identity/${identity}`;
const byDevice = (deviceId: string): string => `dtls-psk/device/${deviceId}`;

/** What a PSK identity resolves to; `ref` changes whenever the key does. */
export interface DevicePsk {
  identity: string;
  orgId: string;
  deviceId: string;
  key: Buffer;
  ref: string;
  createdAt: number;
}

/** The keys of devices' DTLS-PSK credentials. */
export class DevicePskService {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'system' | 'devices'>;
      box: SecretBox;
      clock: Clock;
      /** Told when a key is replaced or removed, so live sessions made with it end. */
      events?: Pick<DomainEvents, 'emit'>;
      /** Is this identity taken by another kind of PSK (a factory bootstrap credential, 0045)? */
      reserved?: (identity: string) => Promise<boolean>;
    },
  ) {}

  /**
   * Sets (or replaces) a device's identity and key; a new key is made when none is given. The
   * device's previous identity is removed, so a session made with the old key is refused at its
   * next request (admission compares `ref`).
   */
  async set(
    orgId: string,
    deviceId: string,
    req: { identity: string; key?: Buffer },
  ): Promise<{ identity: string; key: Buffer }> {
    const { identity, key } = await checkPskRequest(this.d.storage.devices, orgId, deviceId, req);
    const record = {
      identity,
      orgId,
      deviceId,
      key: key.toString('base64'),
      ref: randomBytes(9).toString('base64url'),
      createdAt: this.d.clock.now(),
    };
    if ((await this.d.reserved?.(identity)) === true) {
      throw new BulwarkError('conflict', 'this PSK identity is a factory bootstrap credential');
    }
    const sealed = this.d.box.seal(JSON.stringify(record), `${CONTEXT}|${identity}`);
    const current = await this.d.storage.system.get(byIdentity(identity));
    if (current !== undefined) {
      const owner = this.#open(identity, current);
      if (owner?.deviceId !== deviceId) {
        throw new BulwarkError('conflict', 'this PSK identity belongs to another device');
      }
    }
    if (!(await this.d.storage.system.compareAndSet(byIdentity(identity), current, sealed))) {
      throw new BulwarkError('conflict', 'the PSK identity changed meanwhile; try again');
    }
    const previous = await this.d.storage.system.get(byDevice(deviceId));
    await this.d.storage.system.put(byDevice(deviceId), identity);
    if (previous !== undefined && previous !== identity) {
      await this.#removeIdentity(previous, deviceId);
    }
    // The old key no longer admits (its ref is gone): sessions made with it end now, everywhere.
    if (previous !== undefined) this.#revoked(orgId, deviceId, previous);
    if (current !== undefined && previous !== identity) this.#revoked(orgId, deviceId, identity);
    return { identity, key };
  }

  /** The device's identity (never the key), or undefined. */
  async identityOf(orgId: string, deviceId: string): Promise<string | undefined> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
    return this.d.storage.system.get(byDevice(deviceId));
  }

  /** Removes a device's PSK: its sessions are refused at their next request. */
  async remove(orgId: string, deviceId: string): Promise<boolean> {
    const identity = await this.identityOf(orgId, deviceId);
    if (identity === undefined) return false;
    await this.#removeIdentity(identity, deviceId);
    await this.d.storage.system.compareAndSet(byDevice(deviceId), identity, undefined);
    this.#revoked(orgId, deviceId, identity);
    return true;
  }

  /** The key of an identity, for the handshake and for admission; undefined when unknown. */
  async resolve(identity: string): Promise<DevicePsk | undefined> {
    const raw = await this.d.storage.system.get(byIdentity(identity));
    return raw === undefined ? undefined : this.#open(identity, raw);
  }

  async #removeIdentity(identity: string, deviceId: string): Promise<void> {
    const raw = await this.d.storage.system.get(byIdentity(identity));
    if (raw === undefined || this.#open(identity, raw)?.deviceId !== deviceId) return;
    await this.d.storage.system.compareAndSet(byIdentity(identity), raw, undefined);
  }

  #revoked(orgId: string, deviceId: string, identity: string): void {
    this.d.events?.emit({
      type: 'device_psk.revoked',
      orgId,
      deviceId,
      identity,
      at: this.d.clock.now(),
    });
  }

  #open(identity: string, sealed: string): DevicePsk | undefined {
    try {
      const r = JSON.parse(
        this.d.box.open(sealed, `${CONTEXT}|${identity}`).toString('utf8'),
      ) as Omit<DevicePsk, 'key'> & { key: string };
      return { ...r, key: Buffer.from(r.key, 'base64') };
    } catch {
      return undefined; // sealed under another master key or altered: as good as absent
    }
  }
}

/**
 * Factory bootstrap credentials of LwM2M devices (decision 0045): a DTLS pre-shared key bound to
 * one device that may only bootstrap — it is never a device PSK, so admission (which resolves
 * device PSKs only) refuses it at the DM server. Sealed with the master key like device PSKs, in
 * the system store as: identity → sealed record, device → identity, and a tombstone per identity
 * once it was exchanged (so a later use is refused with a precise reason).
 */
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { SecretBox } from '../shared/secret-box.js';
import type { DevicePsk } from './device-psk-service.js';
import { checkPskRequest } from './psk-request.js';

const CONTEXT = 'bulwark device bootstrap psk v1';
const byIdentity = (identity: string): string => `dtls-psk-bs/identity/${identity}`;
const byDevice = (deviceId: string): string => `dtls-psk-bs/device/${deviceId}`;
const spent = (identity: string): string => `dtls-psk-bs/spent/${identity}`;
const rotation = (deviceId: string): string => `dtls-psk-bs/rotate/${deviceId}`;

/** The factory credentials, and the per-device "re-bootstrap requested" marks. */
export class BootstrapPskService {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'system' | 'devices'>;
      box: SecretBox;
      clock: Clock;
      /** Device PSK identities: the two kinds share one identity space (the handshake names one). */
      deviceIdentity(identity: string): Promise<unknown>;
    },
  ) {}

  /** Sets (or replaces) a device's factory bootstrap credential; a key is made when none is given. */
  async set(
    orgId: string,
    deviceId: string,
    req: { identity: string; key?: Buffer },
  ): Promise<{ identity: string; key: Buffer }> {
    const { identity, key } = await checkPskRequest(this.d.storage.devices, orgId, deviceId, req);
    if ((await this.d.deviceIdentity(identity)) !== undefined) {
      throw new BulwarkError('conflict', 'this PSK identity is a device PSK identity');
    }
    const current = await this.d.storage.system.get(byIdentity(identity));
    if (current !== undefined && this.#open(identity, current)?.deviceId !== deviceId) {
      throw new BulwarkError('conflict', 'this PSK identity belongs to another device');
    }
    const record = {
      identity,
      orgId,
      deviceId,
      key: key.toString('base64'),
      ref: `bs:${randomBytes(9).toString('base64url')}`,
      createdAt: this.d.clock.now(),
    };
    const sealed = this.d.box.seal(JSON.stringify(record), `${CONTEXT}|${identity}`);
    if (!(await this.d.storage.system.compareAndSet(byIdentity(identity), current, sealed))) {
      throw new BulwarkError('conflict', 'the PSK identity changed meanwhile; try again');
    }
    const previous = await this.d.storage.system.get(byDevice(deviceId));
    await this.d.storage.system.put(byDevice(deviceId), identity);
    const was = await this.#spentOf(identity);
    if (was !== undefined)
      await this.d.storage.system.compareAndSet(spent(identity), was, undefined);
    if (previous !== undefined && previous !== identity) await this.#drop(previous, deviceId);
    return { identity, key };
  }

  /** The factory credential of an identity (handshake and bootstrap), or undefined. */
  async resolve(identity: string): Promise<DevicePsk | undefined> {
    const raw = await this.d.storage.system.get(byIdentity(identity));
    return raw === undefined ? undefined : this.#open(identity, raw);
  }

  /** The device whose factory credential this identity was, once exchanged (for refusals). */
  async spentBy(identity: string): Promise<{ orgId: string; deviceId: string } | undefined> {
    const raw = await this.#spentOf(identity);
    if (raw === undefined) return undefined;
    const r = JSON.parse(raw) as { orgId: string; deviceId: string };
    return { orgId: r.orgId, deviceId: r.deviceId };
  }

  /** The exchange finished: the factory credential is removed and refused from now on. */
  async spend(p: DevicePsk): Promise<void> {
    await this.#drop(p.identity, p.deviceId);
    await this.d.storage.system.compareAndSet(byDevice(p.deviceId), p.identity, undefined);
    await this.d.storage.system.put(
      spent(p.identity),
      JSON.stringify({ orgId: p.orgId, deviceId: p.deviceId, at: this.d.clock.now() }),
    );
  }

  /** Marks a device for re-bootstrap with its current DM PSK (rotation). */
  async requestRotation(orgId: string, deviceId: string): Promise<void> {
    const device = await this.d.storage.devices.get(orgId, deviceId);
    if (!device) throw new BulwarkError('not_found', 'no such device in this organization');
    await this.d.storage.system.put(rotation(deviceId), String(this.d.clock.now()));
  }

  async rotationRequested(deviceId: string): Promise<boolean> {
    return (await this.d.storage.system.get(rotation(deviceId))) !== undefined;
  }

  async rotationDone(deviceId: string): Promise<void> {
    const cur = await this.d.storage.system.get(rotation(deviceId));
    if (cur !== undefined)
      await this.d.storage.system.compareAndSet(rotation(deviceId), cur, undefined);
  }

  #spentOf(identity: string): Promise<string | undefined> {
    return this.d.storage.system.get(spent(identity));
  }

  async #drop(identity: string, deviceId: string): Promise<void> {
    const raw = await this.d.storage.system.get(byIdentity(identity));
    if (raw === undefined || this.#open(identity, raw)?.deviceId !== deviceId) return;
    await this.d.storage.system.compareAndSet(byIdentity(identity), raw, undefined);
  }

  #open(identity: string, sealed: string): DevicePsk | undefined {
    try {
      const r = JSON.parse(
        this.d.box.open(sealed, `${CONTEXT}|${identity}`).toString('utf8'),
      ) as Omit<DevicePsk, 'key'> & { key: string };
      return { ...r, key: Buffer.from(r.key, 'base64') };
    } catch {
      return undefined;
    }
  }
}

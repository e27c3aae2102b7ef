/**
 * The LwM2M bootstrap server (decision 0045): a client-initiated Bootstrap-Request over DTLS-PSK
 * with a device's factory bootstrap credential (or, once an operator asked for rotation, its
 * current DM PSK) gets a plan — Delete /0 and /1, Write /0/1 (the DM server, PSK mode, a fresh
 * identity and key) and /1/0 (short server id, lifetime), Bootstrap-Finish. The fresh key becomes
 * the device's PSK only when Finish is acknowledged; then the credential used is refused.
 *
 * The bootstrap account /0/0 is rewritten too, with the same fresh identity and key: a later
 * re-bootstrap (an operator's rotation request, decision 0045 amendment) then rides the device's
 * current DM PSK, never the spent factory key.
 */
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { BootstrapPskService } from '../devices/bootstrap-psk-service.js';
import type { DevicePsk, DevicePskService } from '../devices/device-psk-service.js';
import { DEVICE_PLANES } from '../edge/policy.js';
import type { Lwm2mSecurity } from './registration.js';
import { encodeTlv, tlvBytes, type TlvEntry } from './tlv.js';
import { LWM2M_FORMATS } from './content.js';

/** One server-initiated step of a bootstrap. */
export interface Lwm2mBootstrapStep {
  method: 'DELETE' | 'PUT';
  path: string;
  contentFormat?: number;
  payload?: Buffer;
}

/** What the wire runs after its 2.04: the steps, then Finish, then `finished` or `failed`. */
export interface Lwm2mBootstrapPlan {
  steps: Lwm2mBootstrapStep[];
  finished(): Promise<void>;
  failed(why: string): Promise<void>;
}

/** Short server id and instance ids the plan writes (one DM server account). */
const SHORT_SERVER_ID = 1;
const DM_SECURITY_INSTANCE = 1;
/** The bootstrap account (Wakaama's example client keeps it at /0/0; Delete /0 spares it). */
const BS_SECURITY_INSTANCE = 0;

export class Lwm2mBootstrap {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'devices'>;
      devicePsks: Pick<DevicePskService, 'resolve' | 'set'>;
      bootstrapPsks: Pick<
        BootstrapPskService,
        'resolve' | 'spentBy' | 'spend' | 'rotationRequested' | 'rotationDone'
      >;
      audit: Pick<AuditService, 'record'>;
      clock: Clock;
      /** The DM server URI written to /0/1/0 (`coaps://host:port`). */
      dmUri: () => string;
      /** Registration lifetime written to /1/0/1, seconds. */
      lifetime: number;
    },
  ) {}

  /** A Bootstrap-Request: the plan, or a `forbidden` BulwarkError (audited). */
  async request(
    endpoint: string,
    source: string,
    sec?: Lwm2mSecurity,
  ): Promise<Lwm2mBootstrapPlan> {
    const refuse = async (orgId: string | null, why: string): Promise<never> => {
      await this.#audit(orgId, endpoint, source, 'lwm2m.bootstrap.refused', 'failure', {
        reason: why,
        ...(sec ? { identity: sec.identity.slice(0, 64) } : {}),
      });
      throw new BulwarkError('forbidden', `LwM2M bootstrap refused: ${why}`);
    };
    if (sec === undefined) return refuse(null, 'bootstrap is only offered over DTLS');
    // Decision 0045: bootstrap credentials are pre-shared keys; a certificate or raw key session
    // registers with the DM server directly.
    if (sec.credential) return refuse(null, `bootstrap takes a PSK, not a ${sec.credential.kind}`);
    let cred: DevicePsk | undefined = await this.d.bootstrapPsks.resolve(sec.identity);
    let rotating = false;
    if (cred === undefined) {
      const dm = await this.d.devicePsks.resolve(sec.identity);
      if (dm === undefined) {
        const owner = await this.d.bootstrapPsks.spentBy(sec.identity);
        return owner === undefined
          ? refuse(null, 'unknown bootstrap identity')
          : refuse(owner.orgId, 'the factory bootstrap credential was already exchanged');
      }
      if (!(await this.d.bootstrapPsks.rotationRequested(dm.deviceId))) {
        return refuse(
          dm.orgId,
          'a device PSK may bootstrap only after an operator asked for rotation',
        );
      }
      cred = dm;
      rotating = true;
    }
    if (cred.ref !== sec.pskRef)
      return refuse(cred.orgId, 'the credential changed since the handshake');
    if (cred.deviceId !== endpoint) {
      return refuse(cred.orgId, 'the endpoint name is not the device this credential is bound to');
    }
    const device = await this.d.storage.devices.get(cred.orgId, cred.deviceId);
    if (!device) return refuse(cred.orgId, 'no such device');
    if (device.state === 'decommissioned')
      return refuse(cred.orgId, 'the device is decommissioned');
    if (!DEVICE_PLANES[device.state].includes('management')) {
      return refuse(cred.orgId, `a ${device.state} device has no management plane`);
    }
    const used = cred;
    const identity = `bw-${randomBytes(12).toString('base64url')}`;
    const key = randomBytes(16);
    await this.#audit(used.orgId, endpoint, source, 'lwm2m.bootstrap.started', 'success', {
      via: rotating ? 'rotation' : 'factory',
      identity: used.identity,
      newIdentity: identity,
    });
    return {
      steps: [
        { method: 'DELETE', path: '/0' },
        { method: 'DELETE', path: '/1' },
        {
          method: 'PUT',
          path: `/0/${DM_SECURITY_INSTANCE}`,
          contentFormat: LWM2M_FORMATS.tlv,
          payload: tlv([
            [0, tlvBytes(this.d.dmUri())],
            [1, tlvBytes(false)],
            [2, tlvBytes(0)], // security mode 0: PSK
            [3, Buffer.from(identity)],
            [4, Buffer.alloc(0)],
            [5, key],
            [10, tlvBytes(SHORT_SERVER_ID)],
          ]),
        },
        {
          method: 'PUT',
          path: `/0/${BS_SECURITY_INSTANCE}`,
          contentFormat: LWM2M_FORMATS.tlv,
          payload: tlv([
            [0, tlvBytes(this.d.dmUri())], // the bootstrap interface shares the DTLS port
            [1, tlvBytes(true)],
            [2, tlvBytes(0)],
            [3, Buffer.from(identity)],
            [4, Buffer.alloc(0)],
            [5, key],
          ]),
        },
        {
          method: 'PUT',
          path: '/1/0',
          contentFormat: LWM2M_FORMATS.tlv,
          payload: tlv([
            [0, tlvBytes(SHORT_SERVER_ID)],
            [1, tlvBytes(this.d.lifetime)],
            [6, tlvBytes(false)],
            [7, tlvBytes('U')],
          ]),
        },
      ],
      finished: async () => {
        // Finish was acknowledged: the new key is the device's PSK (the old one stops admitting).
        await this.d.devicePsks.set(used.orgId, used.deviceId, { identity, key });
        if (rotating) await this.d.bootstrapPsks.rotationDone(used.deviceId);
        else await this.d.bootstrapPsks.spend(used);
        await this.#audit(used.orgId, endpoint, source, 'lwm2m.bootstrap.finished', 'success', {
          via: rotating ? 'rotation' : 'factory',
          identity: used.identity,
          newIdentity: identity,
        });
      },
      failed: async (why) => {
        await this.#audit(used.orgId, endpoint, source, 'lwm2m.bootstrap.failed', 'failure', {
          reason: why.slice(0, 200),
          identity: used.identity,
        });
      },
    };
  }

  /**
   * A DTLS handshake named an identity nobody holds: when it is a factory credential already
   * exchanged, the refusal is audited with that reason (the handshake layer only knows "unknown").
   */
  async handshakeRefused(identity: string, source: string): Promise<void> {
    const owner = await this.d.bootstrapPsks.spentBy(identity);
    if (owner === undefined) return;
    await this.#audit(owner.orgId, owner.deviceId, source, 'lwm2m.bootstrap.refused', 'failure', {
      reason: 'the factory bootstrap credential was already exchanged',
      identity: identity.slice(0, 64),
    });
  }

  #audit(
    orgId: string | null,
    endpoint: string,
    source: string,
    action: string,
    result: 'success' | 'failure',
    detail: Record<string, unknown>,
  ): Promise<unknown> {
    return this.d.audit.record({
      orgId,
      actorType: orgId && result === 'success' ? 'device' : 'anonymous',
      actorId: orgId && result === 'success' ? endpoint : null,
      action,
      targetType: orgId ? 'device' : null,
      targetId: orgId ? endpoint : null,
      source,
      result,
      detail: { endpoint: endpoint.slice(0, 64), ...detail },
    });
  }
}

function tlv(resources: [number, Uint8Array][]): Buffer {
  const entries: TlvEntry[] = resources.map(([id, value]) => ({ kind: 'resource', id, value }));
  return Buffer.from(encodeTlv(entries));
}

/**
 * The Package URI an LwM2M device downloads its image from (decision 0044): an HTTPS link on the
 * hub's public origin that is its own short-lived, job-scoped credential, because a constrained
 * client cannot add a header to a URI it is given.
 *
 *   {origin}/lwm2m/firmware/{orgId}/{jobId}/{expires}/{mac}
 *
 * `mac` is HMAC-SHA256 (a key derived from the master key, the same on every node) over the
 * organization, the job and the expiry, base64url. A job names one device and one artifact, so the
 * link opens that artifact's image for that device only, only while the job is open, only until
 * `expires` (at most an hour after it was written, never past the job's deadline), and only while
 * the device may take updates (not decommissioned). Checked in that order: the MAC first (no
 * database read for a forged or altered link), then the expiry, then the job and the device.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BulwarkError, isTerminalUpdateState } from '@bulwark/protocol';
import { DEVICE_PLANES } from '../edge/policy.js';
import type { Principal } from '../identity/principal.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobRecord } from '../ports/updates.js';

/** How long a written Package URI may be used: an hour (the job's deadline if sooner). */
export const FIRMWARE_URL_SECONDS = 3600;

const ID = /^[0-9a-zA-Z-]{1,64}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

/** What a valid link opens. */
export interface FirmwareDownloadGrant {
  /** The job's device, as the principal the firmware repository serves. */
  principal: Principal;
  artifactId: string;
  job: UpdateJobRecord;
}

/** Issues and checks the download links of LwM2M firmware jobs. */
export class Lwm2mFirmwareUrls {
  constructor(
    private readonly d: {
      /** 32 bytes, `deriveKey(masterKey, 'lwm2m-firmware-url')`. */
      key: Uint8Array;
      storage: Pick<Storage, 'updateJobs' | 'devices'>;
      clock: Clock;
      /** The hub's configured public origin (`https://host:port`), never a request's Host. */
      origin: () => string;
      /** Seconds a link lives (default FIRMWARE_URL_SECONDS). */
      seconds?: number;
    },
  ) {}

  /** A fresh link for the job. */
  issue(job: Pick<UpdateJobRecord, 'orgId' | 'id' | 'deadline'>): string {
    const now = this.d.clock.now();
    const life = (this.d.seconds ?? FIRMWARE_URL_SECONDS) * 1000;
    const expires = Math.floor(Math.min(now + life, job.deadline) / 1000);
    const mac = this.#mac(job.orgId, job.id, expires);
    return `${this.d.origin()}/lwm2m/firmware/${job.orgId}/${job.id}/${expires}/${mac}`;
  }

  /**
   * What the link's path segments open, or a `forbidden` (altered, foreign or expired link) /
   * `not_found` (the job ended, the device may not take updates) error. Nothing changes.
   */
  async resolve(
    orgId: string,
    jobId: string,
    expires: string,
    mac: string,
  ): Promise<FirmwareDownloadGrant> {
    const exp = /^[0-9]{1,12}$/.test(expires) ? Number(expires) : NaN;
    if (!ID.test(orgId) || !ID.test(jobId) || !Number.isSafeInteger(exp) || !MAC.test(mac))
      throw new BulwarkError('forbidden', 'not a firmware download link');
    const want = Buffer.from(this.#mac(orgId, jobId, exp));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got))
      throw new BulwarkError('forbidden', 'the firmware download link is not valid');
    if (exp * 1000 <= this.d.clock.now())
      throw new BulwarkError('forbidden', 'the firmware download link has expired');
    const job = await this.d.storage.updateJobs.get(orgId, jobId);
    if (!job || isTerminalUpdateState(job.state))
      throw new BulwarkError('not_found', 'the update job of this link is not open');
    const device = await this.d.storage.devices.get(orgId, job.deviceId);
    if (!device || !DEVICE_PLANES[device.state].includes('updates'))
      throw new BulwarkError('not_found', 'the device of this link may not take updates');
    return {
      principal: {
        kind: 'device',
        id: device.id,
        orgId,
        name: device.name,
        role: null,
        permissions: [],
      },
      artifactId: job.artifactId,
      job,
    };
  }

  #mac(orgId: string, jobId: string, expires: number): string {
    return createHmac('sha256', this.d.key)
      .update(`bulwark lwm2m firmware v1|${orgId}|${jobId}|${expires}`)
      .digest('base64url');
  }
}

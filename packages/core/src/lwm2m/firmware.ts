/**
 * Firmware over LwM2M (object 5, decision 0044): an update job of a device registered here is
 * carried out by the server. It writes the Package URI (/5/0/1, an HTTPS link that is its own
 * job-scoped credential, firmware-url.ts), observes State (/5/0/3) and Update Result (/5/0/5),
 * executes Update (/5/0/2) once the device reports State 2 (Downloaded), and maps what the device
 * reports onto the job (firmware-states.ts). Update Result 1 is only a claim: the job succeeds when
 * the device reports the artifact's version in Firmware Version (/3/0/3) — read at once, and after
 * its next Register or Update, when a mismatch fails the job (`version_mismatch`).
 *
 * Jobs wait (queued) while the device is not registered and start on its next Register; a job
 * under way is resumed from the device's State then. A cancel request clears the Package URI
 * (the spec's reset of the state machine) and the device's answer decides. Notifications may be
 * lost (NON, or a client that does not notify): the sweep reads State and Result of jobs under way
 * that were not heard of for a while, and starts jobs made on other hub nodes.
 */
import {
  canMoveUpdateJob,
  isTerminalUpdateState,
  type DeviceReportedUpdateState,
  type UpdateJobState,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import type { ManagementSignals } from '../management/signals.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import type { UpdateJobService } from '../updates/job-service.js';
import type { Lwm2mRecord } from './content.js';
import { FW, FW_STATE, fwReport } from './firmware-states.js';
import type { Lwm2mFirmwareUrls } from './firmware-url.js';
import type { Lwm2mLogger } from './lwm2m-service.js';
import {
  Lwm2mRequestError,
  type Lwm2mBinding,
  type Lwm2mLink,
  type Lwm2mRegistration,
} from './registration.js';

/** A job under way not heard of for this long is polled by the sweep. */
const POLL_AFTER_MS = 15_000;
/** Job states the device is working in (its State / Result move them). */
const UNDER_WAY: readonly UpdateJobState[] = [
  'delivered',
  'downloading',
  'downloaded',
  'installing',
];

/** A registration as the firmware driver follows it. */
interface Reg {
  location: string;
  orgId: string;
  deviceId: string;
  /** The registration lists the Firmware Update object. */
  hasFirmware: boolean;
  /** State and Update Result are observed on this registration. */
  observing: boolean;
  state?: number;
  result?: number;
  /** When State or Result was last heard (notification or read). */
  heard: number;
}

/** The driver's dependencies. */
export interface Lwm2mFirmwareDeps {
  updates: Pick<
    UpdateJobService,
    'openFor' | 'openForDevices' | 'report' | 'delivered' | 'abandon' | 'get' | 'installedReported'
  >;
  storage: Pick<Storage, 'firmware' | 'devices'>;
  signals: ManagementSignals;
  link: Lwm2mLink;
  urls: Pick<Lwm2mFirmwareUrls, 'issue'>;
  clock: Clock;
  log: Lwm2mLogger;
}

/** Carries out the update jobs of the LwM2M devices registered on this node. */
export class Lwm2mFirmware {
  readonly #regs = new Map<string, Reg>();
  readonly #byDevice = new Map<string, string>();
  readonly #chains = new Map<string, Promise<unknown>>();
  #unlisten: (() => void) | null = null;

  constructor(private readonly d: Lwm2mFirmwareDeps) {}

  start(): void {
    this.#unlisten = this.d.signals.listen({
      updateJobQueued: (job) => this.#onJob(job, (r) => this.#resume(r, 'job')),
      updateJobCancelRequested: (job) => this.#onJob(job, (r) => this.#cancel(r, job)),
      // Ended by the hub (forced cancel, timeout): the device is told to drop the download.
      updateJobChanged: (job) => {
        if (job.state === 'canceled' || job.state === 'timed_out')
          this.#onJob(job, (r) => this.#clear(r, job));
      },
    });
  }

  stop(): void {
    this.#unlisten?.();
  }

  /** A client registered: its open job starts or resumes. */
  registered(reg: Lwm2mRegistration, b: Lwm2mBinding): Promise<void> {
    const old = this.#byDevice.get(key(b.orgId, b.deviceId));
    if (old !== undefined) this.#regs.delete(old);
    const r: Reg = {
      location: reg.location,
      orgId: b.orgId,
      deviceId: b.deviceId,
      hasFirmware: reg.objects.some((o) => o.path === '/5' || o.path === '/5/0'),
      observing: false,
      heard: this.d.clock.now(),
    };
    this.#regs.set(reg.location, r);
    this.#byDevice.set(key(b.orgId, b.deviceId), reg.location);
    return this.#serial(r, () => this.#resume(r, 'register'));
  }

  /** A registration update: a job waiting for the new version checks it now. */
  updated(reg: Lwm2mRegistration): Promise<void> {
    const r = this.#regs.get(reg.location);
    if (!r) return Promise.resolve();
    return this.#serial(r, () => this.#resume(r, 'update'));
  }

  ended(reg: Lwm2mRegistration): void {
    const r = this.#regs.get(reg.location);
    if (!r) return;
    this.#regs.delete(reg.location);
    if (this.#byDevice.get(key(r.orgId, r.deviceId)) === reg.location)
      this.#byDevice.delete(key(r.orgId, r.deviceId));
  }

  /** Starts jobs made on other nodes; polls jobs under way that were not heard of for a while. */
  async sweep(): Promise<void> {
    const byOrg = new Map<string, Reg[]>();
    for (const r of this.#regs.values()) byOrg.set(r.orgId, [...(byOrg.get(r.orgId) ?? []), r]);
    const now = this.d.clock.now();
    for (const [orgId, regs] of byOrg) {
      const ids = regs.map((r) => r.deviceId);
      for (const job of await this.d.updates.openForDevices(orgId, ids, ids.length)) {
        const r = this.#current(job.orgId, job.deviceId);
        if (!r) continue;
        if (job.state === 'queued' || job.cancelRequested !== null)
          void this.#serial(r, () => this.#resume(r, 'job')).catch(this.#warn(r, 'sweep'));
        else if (UNDER_WAY.includes(job.state) && now - r.heard >= POLL_AFTER_MS)
          void this.#serial(r, () => this.#poll(r)).catch(this.#warn(r, 'poll'));
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  #current(orgId: string, deviceId: string): Reg | undefined {
    const loc = this.#byDevice.get(key(orgId, deviceId));
    return loc === undefined ? undefined : this.#regs.get(loc);
  }

  #live(r: Reg): boolean {
    return this.#regs.get(r.location) === r;
  }

  #onJob(job: UpdateJobRecord, fn: (r: Reg) => Promise<void>): void {
    const r = this.#current(job.orgId, job.deviceId);
    if (r) void this.#serial(r, () => fn(r)).catch(this.#warn(r, 'job'));
  }

  /** The device's open job, from wherever it stands. */
  async #resume(r: Reg, why: 'register' | 'update' | 'job'): Promise<void> {
    if (!this.#live(r)) return;
    if (why === 'register') await this.#running(r);
    const job = await this.d.updates.openFor(r.orgId, r.deviceId);
    if (!job) return;
    if (job.cancelRequested !== null) return this.#cancel(r, job);
    if (job.state === 'queued') return this.#begin(r, job);
    if (job.state === 'rebooting') {
      // The device claimed success; a Register or Update after it is when it must show it.
      if (why !== 'job') await this.#checkVersion(r, job, true);
      return;
    }
    if (!UNDER_WAY.includes(job.state)) return;
    await this.#observe(r);
    if (why !== 'register' || !this.#live(r)) return this.#follow(r);
    await this.#read(r);
    if (r.state === FW_STATE.idle && (r.result ?? 0) === 0) {
      // Back from a restart with nothing under way: a download it lost starts again; an update
      // it was installing shows in the version it runs now.
      if (job.state === 'installing') return this.#checkVersion(r, job, true);
      return this.#begin(r, job);
    }
    return this.#follow(r);
  }

  /** Writes a fresh Package URI: the device starts downloading (queued → delivered). */
  async #begin(r: Reg, job: UpdateJobRecord): Promise<void> {
    if (!r.hasFirmware) {
      await this.d.updates.abandon(
        job,
        'lwm2m_no_firmware_object',
        'the device registered without the Firmware Update object (/5/0)',
      );
      return;
    }
    const uri = this.d.urls.issue(job);
    try {
      await this.d.link.write(r.location, FW.packageUri, uri);
    } catch (err) {
      // A refusal is the device's answer; silence (a timeout) is retried at its next Register.
      if (!(err instanceof Lwm2mRequestError)) throw err;
      await this.d.updates.abandon(
        job,
        'package_uri_refused',
        `Write ${FW.packageUri} answered ${err.code}: ${err.message}`,
      );
      return;
    }
    r.state = undefined;
    r.result = undefined; // a new download resets the device's Update Result
    r.heard = this.d.clock.now();
    if (job.state === 'queued')
      await this.d.updates.delivered(job.orgId, job.id, `Package URI (${FW.packageUri}) written`);
    // Observed already (an earlier job on this registration): what it says now is read.
    if (r.observing) await this.#read(r);
    else await this.#observe(r);
    await this.#follow(r);
  }

  /** Observes State and Update Result once per registration (first values count as heard). */
  async #observe(r: Reg): Promise<void> {
    if (r.observing || !this.#live(r)) return;
    r.observing = true;
    for (const path of [FW.state, FW.result]) {
      try {
        const first = await this.d.link.observe(r.location, path, (recs) => {
          if (!this.#live(r)) return;
          this.#take(r, recs);
          void this.#serial(r, () => this.#follow(r)).catch(this.#warn(r, 'notification'));
        });
        this.#take(r, first);
      } catch (err) {
        // The sweep's reads stand in for notifications the device will not send.
        this.#warn(r, `observe ${path}`)(err);
      }
    }
  }

  /** Reads State and Update Result (a poll, or after a Register). */
  async #read(r: Reg): Promise<void> {
    for (const path of [FW.state, FW.result]) {
      this.#take(r, await this.d.link.read(r.location, path));
    }
  }

  async #poll(r: Reg): Promise<void> {
    if (!this.#live(r)) return;
    await this.#read(r);
    await this.#follow(r);
  }

  #take(r: Reg, recs: Lwm2mRecord[]): void {
    for (const rec of recs) {
      const n = typeof rec.value === 'number' ? rec.value : Number(rec.value);
      if (!Number.isInteger(n)) continue;
      if (rec.path === FW.state) r.state = n;
      else if (rec.path === FW.result) r.result = n;
      else continue;
      r.heard = this.d.clock.now();
    }
  }

  /** Moves the open job by what the device last said; executes Update once it is Downloaded. */
  async #follow(r: Reg): Promise<void> {
    let job = await this.d.updates.openFor(r.orgId, r.deviceId);
    if (!job || !this.#live(r)) return;
    const rep = fwReport(r.state, r.result);
    if (rep && moves(job.state, rep.state)) {
      await this.#report(r, job, rep);
      job = await this.d.updates.get(r.orgId, job.id);
    }
    if (job.state === 'rebooting') return this.#checkVersion(r, job, false);
    if (job.state !== 'downloaded' || r.state !== FW_STATE.downloaded) return;
    try {
      await this.d.link.execute(r.location, FW.update);
    } catch (err) {
      if (!(err instanceof Lwm2mRequestError)) throw err; // silence: the next poll tries again
      await this.#report(r, job, {
        state: 'failed',
        reason: 'update_refused',
        message: `Execute ${FW.update} answered ${err.code}: ${err.message}`,
      });
      return;
    }
    await this.#report(r, job, { state: 'installing', message: `Update (${FW.update}) executed` });
  }

  /**
   * The version the device runs (/3/0/3) against the artifact's: equal → succeeded (and the
   * device's firmware version recorded); different → failed `version_mismatch` when `final`
   * (a Register or Update after the device claimed success), else wait for that.
   */
  async #checkVersion(r: Reg, job: UpdateJobRecord, final: boolean): Promise<void> {
    const artifact = await this.d.storage.firmware.getArtifact(job.orgId, job.artifactId);
    if (!artifact) {
      await this.d.updates.abandon(job, 'artifact_missing', "the job's artifact is gone");
      return;
    }
    const recs = await this.d.link.read(r.location, FW.version);
    const runs = recs.find((x) => x.path === FW.version)?.value;
    if (runs === artifact.version) {
      const device = await this.d.storage.devices.get(job.orgId, job.deviceId);
      await this.#report(r, job, {
        state: 'succeeded',
        message: `the device runs ${artifact.version} (Firmware Version ${FW.version})`,
        installed: {
          type: device?.type ?? '',
          version: artifact.version,
          releaseCounter: artifact.releaseCounter,
        },
      });
      return;
    }
    if (!final) return;
    const cur = await this.d.updates.get(job.orgId, job.id);
    if (isTerminalUpdateState(cur.state)) return;
    await this.d.updates.abandon(
      cur,
      'version_mismatch',
      `the device reports Firmware Version ${JSON.stringify(runs ?? null)} (${FW.version}) after ` +
        `the update, not ${artifact.version}`,
    );
  }

  /**
   * What the device runs (/3/0/3) after each Register becomes the device record's firmware
   * version, as an agent's `firmware` report does: rollouts count a device on the target version
   * as current, and the auto-upgrade policy sees it. LwM2M has no release counter (0).
   */
  async #running(r: Reg): Promise<void> {
    const device = await this.d.storage.devices.get(r.orgId, r.deviceId);
    if (!device) return;
    let runs: unknown;
    try {
      runs = (await this.d.link.read(r.location, FW.version)).find(
        (x) => x.path === FW.version,
      )?.value;
    } catch (err) {
      return this.#warn(r, `read ${FW.version}`)(err);
    }
    if (typeof runs !== 'string' || runs === '' || runs.length > 64) return;
    await this.d.updates.installedReported(r.orgId, r.deviceId, {
      type: device.type,
      version: runs,
      releaseCounter: 0,
    });
  }

  /** A cancel request: clearing the Package URI resets the device; its answer decides. */
  async #cancel(r: Reg, job: UpdateJobRecord): Promise<void> {
    const cur = await this.d.updates.get(job.orgId, job.id);
    if (cur.cancelRequested === null || isTerminalUpdateState(cur.state) || cur.state === 'queued')
      return;
    try {
      await this.d.link.write(r.location, FW.packageUri, '');
    } catch (err) {
      if (!(err instanceof Lwm2mRequestError)) throw err;
      await this.#report(r, cur, {
        state: cur.state as DeviceReportedUpdateState,
        cancel: 'refused',
        message: `clearing the Package URI answered ${err.code}: ${err.message}`,
      });
      return;
    }
    await this.#report(r, cur, { state: 'canceled', message: 'Package URI cleared' });
  }

  /** The hub ended the job: the device is told to drop what it downloaded (best effort). */
  async #clear(r: Reg, job: UpdateJobRecord): Promise<void> {
    const before = job.history.at(-2)?.state;
    if (job.history.at(-1)?.by === undefined || !before || !UNDER_WAY.includes(before)) return;
    await this.d.link.write(r.location, FW.packageUri, '').catch(() => undefined);
  }

  async #report(r: Reg, job: UpdateJobRecord, rep: UpdateStatusReport): Promise<void> {
    await this.d.updates.report(r.orgId, r.deviceId, job.id, rep);
  }

  /** Runs `fn` after the device's previous firmware work. */
  #serial(r: Reg, fn: () => Promise<void>): Promise<void> {
    const k = key(r.orgId, r.deviceId);
    const prev = this.#chains.get(k) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.#chains.set(k, tail);
    void tail.then(() => {
      if (this.#chains.get(k) === tail) this.#chains.delete(k);
    });
    return next;
  }

  #warn(r: Reg, what: string): (err: unknown) => void {
    return (err) =>
      this.d.log.warn({ err, deviceId: r.deviceId }, `LwM2M firmware: ${what} failed`);
  }
}

const key = (orgId: string, deviceId: string) => `${orgId}/${deviceId}`;

/** Does the report move the job (progress within `downloading` is not news here)? */
const moves = (from: UpdateJobState, to: UpdateJobState) =>
  canMoveUpdateJob(from, to) && !(from === 'downloading' && to === 'downloading');

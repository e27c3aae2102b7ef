/**
 * The device side of update jobs (issue 6 item 3, docs/decisions/0009-agent-install-path.md): takes
 * the hub's offers on `$devices/{id}/updates/{jobId}`, refuses what does not verify or fit BEFORE
 * any download (the installer untouched), drives the Installer through download, verification,
 * activation and the reboot, runs the health check after the new slot booted, and reports each
 * job state on `…/status`. The job travels inside the install record, so after a restart (or a
 * power cut) the state machine resumes and its statuses name the right job.
 */
import { readFile } from 'node:fs/promises';
import { isVersion, verifyRelease, type ChunkIndex } from '@bulwark/firmware';
import {
  updateOfferProblem,
  updateTopic,
  type InstalledFirmware,
  type UpdateOffer,
} from '@bulwark/protocol';
import type { AgentConfig } from '../config.js';
import type { AgentClock, AgentFiles } from '../ports.js';
import { openBootIntegration } from '../boot/open-slots.js';
import { imageSource } from './delta.js';
import { Downloader } from './downloader.js';
import { runHealthChecks, type HealthCheckFn } from './health-check.js';
import {
  SETTLED,
  UpdateError,
  type InstallStateName,
  type InstallStatus,
} from './install-record.js';
import { Installer } from './installer.js';
import { JobLog } from './job-log.js';
import { jobOf, JobReporter, type JobContext } from './job-reporter.js';
import type { DownloadTrust } from './range-fetch.js';
import { otherSlot, type SlotStore } from './slots.js';
import { ChunkScratch } from './scratch.js';
import { checkOffer, RootTrust } from './trust.js';

/** What the update client works with (the agent's parts). */
export interface UpdateClientDeps {
  config: AgentConfig;
  files: AgentFiles;
  clock: AgentClock;
  /** Slots given in code (the simulator's MemorySlots); default `update.slotsDir`. */
  slots?: SlotStore | undefined;
  /** The image source; default: delta.ts (chunks reused from the running slot, the rest fetched). */
  source?: typeof imageSource | undefined;
  random?: (() => number) | undefined;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  deviceId(): string | undefined;
  /** Queues a management message (durable, sent in order). */
  send(topic: string, body: unknown): Promise<void>;
  /** Resolves when the link to the hub is up (rejects on abort). */
  whenConnected(signal: AbortSignal): Promise<void>;
  /** TLS material for the image download (the device identity). */
  trust(): DownloadTrust | undefined;
  reboot(): Promise<void>;
  emit(event: string, ...args: unknown[]): void;
  /** Time since the OS booted; default /proc/uptime. */
  uptimeMs?: (() => Promise<number>) | undefined;
}

/** Milliseconds since the OS booted, from /proc/uptime. */
async function linuxUptimeMs(): Promise<number> {
  const [up = ''] = (await readFile('/proc/uptime', 'utf8')).split(' ');
  const s = Number(up);
  if (!Number.isFinite(s)) throw new Error('unreadable /proc/uptime');
  return Math.round(s * 1000);
}

/** Install states before the boot pointer moves: an install there can still be abandoned. */
const PRE_SWITCH: readonly InstallStateName[] = [
  'downloading',
  'downloaded',
  'verifying',
  'installing',
];
const NOT_CONFIGURED =
  'updates are not set up on this device (update.mode none): set update.mode and update.slotsDir, ' +
  'then run `bulwark agent setup --config FILE`';
/** Steps of one drive: enough for every transition of an install, bounded. */
const MAX_STEPS = 16;

/** Offers, installs and reports of one agent. */
export class UpdateClient {
  private installer: Installer | undefined;
  private slots: SlotStore | undefined;
  /** Application mode: the switch and restart that stand for a reboot. */
  private restart: (() => Promise<void>) | undefined;
  private unsupported = NOT_CONFIGURED;
  private readonly root: RootTrust;
  private readonly jobs: JobLog;
  private readonly scratch: ChunkScratch;
  private readonly reporter: JobReporter;
  private readonly checks = new Map<string, HealthCheckFn>();
  private offers: Promise<unknown> = Promise.resolve();
  private drive: { ac: AbortController; done: Promise<void> } | undefined;
  /** Firmware reports being sent (awaited by `stop`). */
  private readonly reporting = new Set<Promise<void>>();
  private stopped = true;
  /** PEM of the CA of `update.cache` (the gateway's firmware cache), read at open. */
  private cacheCa: string | undefined;

  constructor(private readonly deps: UpdateClientDeps) {
    this.root = new RootTrust(deps.files, deps.config.update.rootFile);
    this.jobs = new JobLog(deps.files);
    this.scratch = new ChunkScratch(deps.files);
    this.reporter = new JobReporter({
      jobs: this.jobs,
      clock: deps.clock,
      deviceId: () => deps.deviceId(),
      send: (topic, body) => deps.send(topic, body),
      installed: () => this.installed(),
      publishInstalled: () => this.connected(),
      log: (level, msg) => deps.log(level, msg),
      emit: (event, ...args) => deps.emit(event, ...args),
    });
  }

  /** Registers an application health check, run after a new slot booted (before start). */
  registerHealthCheck(name: string, check: HealthCheckFn): void {
    this.checks.set(name, check);
  }

  /** At agent start: loads the pinned root and the install, resumes it (in the background). */
  async open(): Promise<void> {
    this.stopped = false;
    this.installer = undefined;
    this.slots = undefined;
    this.restart = undefined;
    this.unsupported = NOT_CONFIGURED;
    await this.jobs.load();
    try {
      const cache = this.deps.config.update.cache;
      this.cacheCa = cache === undefined ? undefined : await readFile(cache.caFile, 'utf8');
      await this.openInstall();
    } catch (err) {
      // The agent keeps running (link, twin, commands); offers are refused with this reason.
      this.installer = undefined;
      this.slots = undefined;
      this.unsupported = (err as Error).message;
      this.deps.log('error', `updates disabled: ${this.unsupported}`);
    }
  }

  private async openInstall(): Promise<void> {
    const { config } = this.deps;
    await this.root.load();
    const boot =
      this.deps.slots !== undefined
        ? { slots: this.deps.slots }
        : await openBootIntegration(config.update);
    if (boot === undefined) return;
    const slots = boot.slots;
    try {
      await slots.booted();
      await slots.readControl();
    } catch (err) {
      throw new Error(
        `the A/B slots are not provisioned (update.mode ${config.update.mode}): ${(err as Error).message}; ` +
          '`bulwark agent setup --config FILE` says what is missing',
      );
    }
    this.slots = slots;
    this.restart = boot.restart;
    if (this.deps.slots === undefined && config.update.mode === 'simulated')
      this.deps.log(
        'warn',
        'update.mode simulated: only a test or the simulator boots these slots; on a device set ' +
          'update.mode to application, rauc, uboot or grub',
      );
    this.installer = await Installer.open({
      slots,
      files: this.deps.files,
      verifySignature: ({ release }) => this.verifyAgain(release),
      bootAttempts: config.update.bootAttempts,
      confirmTimeoutMs: config.update.healthTimeoutSeconds * 1000,
      uptimeMs: this.deps.uptimeMs ?? linuxUptimeMs,
      now: () => this.deps.clock.now(),
    });
    const s = await this.installer.resume();
    // The stash of the download in progress, if any; a stale one is removed.
    await this.scratch.load(s.state === 'downloading' ? s.release?.sha256 : undefined);
    this.run(s);
  }

  /**
   * Stops the running download or health check (the install record stays, resumed at next start)
   * and waits for the offers and firmware reports in flight. The drive itself is aborted, not
   * awaited: its last step may be the reboot that is stopping this agent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.drive?.ac.abort();
    await Promise.allSettled([this.offers, ...this.reporting]);
  }

  /** After every connect: what the device runs. */
  connected(): Promise<void> {
    const p = (async () => {
      const id = this.deps.deviceId();
      if (id === undefined || this.stopped) return;
      await this.deps.send(updateTopic.installed(id), await this.installed());
    })();
    this.reporting.add(p);
    void p.catch(() => undefined).finally(() => this.reporting.delete(p));
    return p;
  }

  /** An offer arrived on `updates/{jobId}`; handled one at a time, in order. */
  handle(jobId: string, payload: Uint8Array): void {
    this.offers = this.offers
      .then(() => this.onOffer(jobId, payload))
      .catch((err: Error) => this.deps.log('error', `update offer ${jobId}: ${err.message}`));
  }

  /** The install record and its next step (undefined when updates are not supported). */
  status(): Promise<InstallStatus | undefined> {
    return this.installer === undefined ? Promise.resolve(undefined) : this.installer.status();
  }

  /** Resolves when no offer is being handled and no install step runs (tests, shutdown). */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const d = this.drive;
      const o = this.offers;
      await o;
      await d?.done;
      if (this.drive === undefined && this.offers === o) return;
    }
  }

  /** What the device runs now. */
  async installed(): Promise<InstalledFirmware> {
    const { config } = this.deps;
    const base: InstalledFirmware = {
      type: config.device.type,
      ...(config.update.hardware !== undefined ? { hardware: config.update.hardware } : {}),
      version: config.device.firmwareVersion,
      releaseCounter: 0,
    };
    if (this.slots === undefined || this.installer === undefined) return base;
    const boot = await this.slots.booted();
    const m = await this.slots.readManifest(boot.slot);
    return {
      ...base,
      version: m?.version ?? base.version,
      releaseCounter: Math.max(this.installer.current.committedCounter, m?.counter ?? 0),
      slot: boot.slot,
    };
  }

  // ── offers ──────────────────────────────────────────────────────────────────────────────────

  private async onOffer(topicJob: string, payload: Uint8Array): Promise<void> {
    let offer: UpdateOffer;
    try {
      const v: unknown = JSON.parse(new TextDecoder().decode(payload));
      // The schema the hub sends by (protocol update-schemas.ts).
      const problem = updateOfferProblem(v);
      if (problem !== null) throw new Error(problem);
      offer = v as UpdateOffer;
      if (offer.id !== topicJob) throw new Error(`id ${String(offer.id)} differs from the topic's`);
    } catch (err) {
      await this.reporter.finish(topicJob, {
        state: 'rejected',
        reason: 'malformed',
        message: `offer: ${(err as Error).message}`,
      });
      return;
    }
    const done = this.jobs.finished(offer.id);
    if (done !== undefined) {
      await this.reporter.send(offer.id, done); // a re-delivery: the same answer, no second install
      return;
    }
    if (offer.action === 'cancel') await this.cancel(offer.id);
    else await this.install(offer);
  }

  private async install(offer: Extract<UpdateOffer, { action: 'install' }>): Promise<void> {
    const inst = this.installer;
    const refuse = (reason: string, message: string) =>
      this.reporter.finish(offer.id, { state: 'rejected', reason, message });
    if (inst === undefined || this.slots === undefined)
      return refuse('updates_not_supported', this.unsupported);
    const s = await inst.status();
    if (!SETTLED.includes(s.state)) {
      const job = jobOf(s);
      if (job?.id !== offer.id)
        return refuse('busy', `job ${job?.id ?? '(unknown)'} is installing (state ${s.state})`);
      await this.reporter.report(s, true); // a re-delivery of the job in progress
      if (this.drive === undefined) this.run(s);
      return;
    }
    const now = new Date(this.deps.clock.now());
    const root = await this.root.accept(offer.root, now);
    if (!root.ok) return refuse(root.reason, root.message);
    const facts = await this.installed();
    const checked = checkOffer(
      offer.metadata,
      root.root,
      { ...facts, version: isVersion(facts.version) ? facts.version : '0' },
      now,
    );
    if (!checked.ok) return refuse(checked.reason, checked.message);
    try {
      this.imageUrl(offer.imagePath);
    } catch (err) {
      return refuse('malformed', (err as Error).message);
    }
    const r = checked.release;
    const job: JobContext = {
      id: offer.id,
      artifactId: offer.artifactId,
      metadata: offer.metadata,
      imagePath: offer.imagePath,
      deadline: offer.deadline,
      ...(r.chunkIndex !== undefined ? { chunkIndex: r.chunkIndex } : {}),
    };
    if (r.chunkIndex !== undefined) await this.stashInactive(r);
    let begun: InstallStatus;
    try {
      begun = await inst.begin(
        { version: r.version, counter: r.releaseCounter, sha256: r.sha256, length: r.length },
        job as unknown as Record<string, unknown>,
      );
    } catch (err) {
      await this.scratch.clear();
      if (!(err instanceof UpdateError)) throw err;
      const reason =
        err.code === 'downgrade' ? 'downgrade' : err.code === 'wrong_state' ? 'busy' : 'malformed';
      return refuse(reason, err.message);
    }
    this.deps.log('info', `update job ${offer.id}: installing ${r.version} (${r.length} bytes)`);
    this.run(begun);
  }

  private async cancel(id: string): Promise<void> {
    const inst = this.installer;
    const s = inst === undefined ? undefined : await inst.status();
    if (inst === undefined || s === undefined || jobOf(s)?.id !== id || SETTLED.includes(s.state)) {
      await this.reporter.finish(id, {
        state: 'canceled',
        message: 'the job had not started here',
      });
      return;
    }
    // Too late once the boot pointer moved: the cancel is refused (decision 0015) and the job
    // goes on; the hub records whatever this device reports next.
    if (!PRE_SWITCH.includes(s.state)) return this.reporter.refuseCancel(s);
    const d = this.drive;
    d?.ac.abort();
    await d?.done;
    const now = await inst.status();
    if (!PRE_SWITCH.includes(now.state)) {
      await this.reporter.refuseCancel(now);
      this.run(now);
      return;
    }
    await this.reporter.report(await inst.abandon('canceled by the hub'));
    await this.scratch.clear();
  }

  /**
   * Before `begin` hands the inactive slot to the download: keeps aside the new image's chunks it
   * holds and the running slot lacks (0010). A failure only costs the saving.
   */
  private async stashInactive(r: {
    chunkIndex?: ChunkIndex;
    sha256: string;
    length: number;
  }): Promise<void> {
    try {
      const running = (await this.slots!.booted()).slot;
      const kept = await this.scratch.stash({
        index: r.chunkIndex!,
        release: r,
        slots: this.slots!,
        running,
        inactive: otherSlot(running),
      });
      if (kept > 0)
        this.deps.log('info', `update: kept ${kept} bytes of the inactive slot for the download`);
    } catch (err) {
      await this.scratch.clear().catch(() => undefined);
      this.deps.log(
        'warn',
        `update: the inactive slot's chunks were not kept: ${(err as Error).message}`,
      );
    }
  }

  // ── the install, step by step ───────────────────────────────────────────────────────────────

  /** Drives the install from `s` in the background (one drive at a time). */
  private run(s: InstallStatus): void {
    if (this.stopped || this.drive !== undefined) return;
    const ac = new AbortController();
    const done = this.steps(s, ac.signal)
      .catch((err: Error) => this.deps.log('error', `update: ${err.message}`))
      .finally(() => {
        if (this.drive?.ac === ac) this.drive = undefined;
      });
    this.drive = { ac, done };
  }

  private async steps(first: InstallStatus, signal: AbortSignal): Promise<void> {
    const inst = this.installer!;
    let s = first;
    if (jobOf(s) === undefined && PRE_SWITCH.includes(s.state))
      s = await inst.abandon('an install without a job record (begun by an older agent)');
    for (let i = 0; i < MAX_STEPS && !signal.aborted; i++) {
      if (s.state !== 'downloading' && this.scratch.active) await this.scratch.clear();
      if (!(s.state === 'rolled_back' && s.next === 'reboot')) await this.reporter.report(s);
      switch (s.next) {
        case 'download': {
          const next = await this.downloader(s).run(s, signal);
          if (next === undefined) return; // stopped or canceled: resumed later
          s = next;
          break;
        }
        case 'verify':
          s = await inst.verify();
          if (s.next === 'download')
            this.deps.log(
              'warn',
              `update job ${jobOf(s)?.id ?? '?'}: the delta-built image failed its sha256 check; downloading the full image`,
            );
          break;
        case 'activate':
          s = await inst.activate();
          break;
        case 'reboot': {
          const into = s.state === 'rolled_back' ? 'the previous slot' : 'the new slot';
          s = await inst.rebootRequested();
          if (this.restart !== undefined) {
            // Application mode: the switch and a service restart stand for the reboot; this
            // agent keeps running and goes on with the health check of the new slot.
            this.deps.log('info', `update: switching to ${into} and restarting the application`);
            await this.restart();
            s = await inst.onBoot();
            break;
          }
          this.deps.log('info', `update: rebooting into ${into}`);
          await this.deps.reboot();
          return;
        }
        case 'health-check': {
          const v = await runHealthChecks({
            commands: this.deps.config.update.healthChecks,
            checks: this.checks,
            connected: (sig) => this.deps.whenConnected(sig),
            // The persisted deadline, not a fresh timeout: restarts of the agent do not extend it.
            timeoutMs: inst.confirmRemainingMs(),
            signal,
          });
          if (signal.aborted) return;
          s = v.healthy ? await inst.confirm(true) : await inst.confirm(false, v.reason);
          break;
        }
        case 'none':
          return;
      }
    }
  }

  private downloader(s: InstallStatus): Downloader {
    const job = jobOf(s)!;
    const { config } = this.deps;
    return new Downloader({
      installer: this.installer!,
      slots: this.slots!,
      url: this.imageUrl(job.imagePath),
      trust: () => this.downloadTrust(),
      source: this.deps.source ?? imageSource,
      ...(job.chunkIndex !== undefined ? { index: job.chunkIndex } : {}),
      stash: this.scratch.active ? this.scratch : undefined,
      deadline: Date.parse(job.deadline),
      backoff: { minMs: config.connection.backoffMinMs, maxMs: config.connection.backoffMaxMs },
      random: this.deps.random,
      now: () => this.deps.clock.now(),
      log: (level, msg) => this.deps.log(level, msg),
      progress: (st) => this.reporter.progress(st),
      onRequest: (offset) => this.deps.emit('update-fetch', { job: job.id, offset }),
    });
  }

  /** Re-checks the metadata at verification (the image's digest was checked by the installer). */
  private async verifyAgain(release: { sha256: string; length: number }): Promise<void> {
    const job = jobOf(this.installer!.current);
    if (job === undefined) throw Object.assign(new Error('no job metadata'), { code: 'malformed' });
    const v = verifyRelease(JSON.parse(job.metadata), this.root.root, {
      now: new Date(this.deps.clock.now()),
      image: { length: release.length, sha256: release.sha256 },
    });
    if (!v.ok) throw Object.assign(new Error(v.message), { code: v.reason });
  }

  /**
   * The image URL: a path on the hub's origin, served from the configured firmware cache's origin
   * when there is one (`update.cache`); the device's certificate goes nowhere else.
   */
  private imageUrl(path: string): string {
    const hub = new URL(this.deps.config.hubUrl);
    const u = new URL(path, hub);
    if (u.origin !== hub.origin) throw new Error(`imagePath ${path} is not on the hub`);
    const cache = this.deps.config.update.cache;
    return cache === undefined ? u.href : new URL(u.pathname + u.search, cache.url).href;
  }

  /** The device identity, trusting the cache's CA too when downloads go to the cache. */
  private downloadTrust(): DownloadTrust | undefined {
    const t = this.deps.trust();
    if (t === undefined || this.cacheCa === undefined) return t;
    return { ...t, ca: [...t.ca, this.cacheCa] };
  }
}

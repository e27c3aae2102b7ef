/**
 * The device-side install state machine (issue 6, item 3):
 *
 *   idle → downloading → downloaded → verifying → installing → rebooting → confirming → committed
 *                     ↘ failed(reason)                               ↘ rolled_back(reason)
 *
 * The record is persisted (atomically, through AgentFiles) BEFORE the side effect of each transition,
 * and every side effect is idempotent, so after a power cut `resume()` re-applies the side effect of
 * the persisted state and either continues or rolls back. Invariant: at every instant the boot-control
 * record has a good slot the bootloader falls back to — the slot being written is marked not good (0
 * attempts) before its first byte is written, and the previous slot stays good until the new one is
 * committed.
 */
import { createHash } from 'node:crypto';
import type { AgentFiles } from '../ports.js';
import {
  parseRecord,
  SETTLED,
  UpdateError,
  type InstallNext,
  type InstallRecord,
  type InstallStateName,
  type InstallStatus,
  type Release,
  type SignatureCheck,
} from './install-record.js';
import {
  checkManifest,
  DEFAULT_BOOT_ATTEMPTS,
  otherSlot,
  type BootControl,
  type BootInfo,
  type SlotStore,
} from './slots.js';

/** What an Installer works on. */
export interface InstallerDeps {
  slots: SlotStore;
  /** The agent's state storage; the record lives at `stateName` in it. */
  files: AgentFiles;
  /** Signature verification of the release (required: an unverifiable release is never installed). */
  verifySignature: SignatureCheck;
  /**
   * Boot attempts a slot gets: trial boots of a new slot before the bootloader falls back, and the
   * value a good slot's counter is reset to at each start (default 3, as RAUC's default).
   */
  bootAttempts?: number;
  /** Record name in `files` (default `update/install.json`). */
  stateName?: string;
  /**
   * Time a new slot has, from its first boot, to be confirmed healthy (default 300 s). The deadline
   * is persisted, so agent restarts do not extend it.
   */
  confirmTimeoutMs?: number;
  /**
   * Time since the OS booted (Linux: /proc/uptime). With it, a reboot that did not change the boot
   * id (slots no bootloader updates) is recognised and not repeated forever.
   */
  uptimeMs?: () => Promise<number>;
  now?: () => number;
}

/** Slack between the wall clock and the uptime (a reboot takes seconds; clocks are not exact). */
const REBOOT_SLACK_MS = 5_000;

/** History entries kept: enough to explain the last few installs, bounded so the record stays small. */
const HISTORY_MAX = 50;
/** States that carry a reason. */
const ENDED: readonly InstallStateName[] = ['failed', 'rolled_back', 'canceled'];
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The install state machine over one SlotStore. */
export class Installer {
  private record: InstallRecord;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly stateName: string;
  private readonly bootAttempts: number;
  private readonly confirmTimeoutMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly deps: InstallerDeps,
    record: InstallRecord,
  ) {
    this.record = record;
    this.stateName = deps.stateName ?? 'update/install.json';
    this.bootAttempts = deps.bootAttempts ?? DEFAULT_BOOT_ATTEMPTS;
    this.confirmTimeoutMs = deps.confirmTimeoutMs ?? 300_000;
    this.now = deps.now ?? Date.now;
  }

  /** Loads the persisted record (or starts idle). Call `resume()` next, at every agent start. */
  static async open(deps: InstallerDeps): Promise<Installer> {
    const attempts = deps.bootAttempts ?? DEFAULT_BOOT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100)
      throw new RangeError('bootAttempts must be an integer in 1..100');
    const raw = await deps.files.read(deps.stateName ?? 'update/install.json');
    const record: InstallRecord =
      raw === undefined
        ? { state: 'idle', offset: 0, committedCounter: 0, history: [] }
        : parseRecord(dec.decode(raw));
    return new Installer(deps, record);
  }

  /** The persisted record (a copy). */
  get current(): InstallRecord {
    return structuredClone(this.record);
  }

  /** The record and the next step for the caller. */
  status(): Promise<InstallStatus> {
    return this.serial(() => this.statusNow());
  }

  /**
   * Starts an install of `release` into the inactive slot. Refused (nothing changes) while another
   * install is in progress, for a malformed release, or for a release counter below the committed one.
   */
  begin(release: Release, job?: Record<string, unknown>): Promise<InstallStatus> {
    return this.serial(async () => {
      try {
        checkManifest(release, 'release');
      } catch (err) {
        throw new UpdateError('invalid_release', (err as Error).message);
      }
      if (release.length === 0) throw new UpdateError('invalid_release', 'release length is 0');
      const r = this.record;
      if (!SETTLED.includes(r.state))
        throw new UpdateError('wrong_state', `an install is in progress (state ${r.state})`);
      const boot = await this.deps.slots.booted();
      const control = await this.deps.slots.readControl();
      if (!control.slots[boot.slot].good)
        throw new UpdateError('wrong_state', `the running slot ${boot.slot} is not confirmed good`);
      const running = await this.deps.slots.readManifest(boot.slot);
      const floor = Math.max(r.committedCounter, running?.counter ?? 0);
      if (release.counter < floor)
        throw new UpdateError(
          'downgrade',
          `release counter ${release.counter} is below the committed counter ${floor}`,
        );
      const target = otherSlot(boot.slot);
      const next: InstallRecord = {
        state: 'downloading',
        release: { ...release },
        target,
        previous: boot.slot,
        offset: 0,
        committedCounter: floor,
        ...(job !== undefined ? { job: structuredClone(job) } : {}),
        history: r.history,
      };
      await this.persist(next);
      await this.invalidateTarget();
      return this.statusNow(boot);
    });
  }

  /**
   * Appends image bytes at `at` (default: the persisted offset) of the target slot. The bytes are
   * fsync'd before the new offset is persisted, so a resumed download restarts at a durable offset.
   * The last byte moves the install to `downloaded`; bytes past the release length fail it.
   * `from` says how many of the bytes were fetched and how many reused (added to `delta`).
   */
  writeChunk(
    bytes: Uint8Array,
    at?: number,
    from?: { downloaded: number; reused: number },
  ): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('downloading');
      const offset = at ?? r.offset;
      if (offset !== r.offset)
        throw new UpdateError(
          'offset_mismatch',
          `chunk at offset ${offset}, but the download continues at ${r.offset}`,
        );
      const release = r.release!;
      if (offset + bytes.byteLength > release.length) {
        await this.fail(
          `image longer than its metadata says (more than ${release.length} bytes)`,
          'length_mismatch',
        );
        throw new UpdateError('image_too_long', this.record.reason!);
      }
      await this.deps.slots.writeImage(r.target!, offset, bytes);
      const end = offset + bytes.byteLength;
      const d = r.delta ?? { totalBytes: release.length, downloadedBytes: 0, reusedBytes: 0 };
      await this.persist({
        ...r,
        offset: end,
        state: end === release.length ? 'downloaded' : 'downloading',
        ...(from !== undefined
          ? {
              delta: {
                totalBytes: release.length,
                downloadedBytes: d.downloadedBytes + from.downloaded,
                reusedBytes: d.reusedBytes + from.reused,
              },
            }
          : {}),
      });
      return this.statusNow();
    });
  }

  /**
   * Checks length and SHA-256 of what was written, then the signature callback. Success moves to
   * `installing`; a mismatch or a refused signature fails the install (the running slot untouched).
   * A sha256 mismatch of an image partly built from reused chunks (`delta.reusedBytes > 0`) goes
   * back to `downloading` at offset 0 with `fullImage` set, once.
   */
  verify(): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('downloaded', 'verifying');
      if (r.state !== 'verifying') await this.persist({ ...r, state: 'verifying' });
      const release = r.release!;
      const target = r.target!;
      const hash = createHash('sha256');
      let length = 0;
      for await (const chunk of this.deps.slots.readImage(target)) {
        length += chunk.byteLength;
        if (length > release.length) break;
        hash.update(chunk);
      }
      if (length !== release.length) {
        await this.fail(
          `image length ${length} does not match the release length ${release.length}`,
          'length_mismatch',
        );
        return this.statusNow();
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== release.sha256 && (r.delta?.reusedBytes ?? 0) > 0 && r.fullImage !== true) {
        // Built from reused chunks (0010): only an index that does not describe the image, or a
        // bad copy, gets here. Once, the download starts again as the plain full image.
        const { delta: _, ...rest } = r;
        await this.persist({ ...rest, state: 'downloading', offset: 0, fullImage: true });
        await this.invalidateTarget();
        return this.statusNow();
      }
      if (sha256 !== release.sha256) {
        await this.fail(
          `image sha256 ${sha256} does not match the release sha256`,
          'hash_mismatch',
        );
        return this.statusNow();
      }
      try {
        await this.deps.verifySignature({
          release,
          slot: target,
          image: () => this.deps.slots.readImage(target),
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        await this.fail(
          `signature refused: ${(err as Error).message}`,
          typeof code === 'string' ? code : 'bad_signature',
        );
        return this.statusNow();
      }
      await this.persist({ ...this.record, state: 'installing' });
      return this.statusNow();
    });
  }

  /**
   * Writes the slot manifest and switches the boot pointer to the new slot with `bootAttempts` trial
   * boots (not good yet). The caller reboots next.
   */
  activate(): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('installing');
      const boot = await this.deps.slots.booted();
      await this.persist({ ...r, state: 'rebooting', activatedBootId: boot.bootId });
      await this.switchToTarget();
      return this.statusNow(boot);
    });
  }

  /**
   * Reconciles the record with the boot that just happened (call at every agent start, before
   * anything else): booted the new slot → `confirming`; the bootloader fell back → `rolled_back`;
   * and re-applies the side effect of the persisted state, which a power cut may have cut short.
   */
  onBoot(): Promise<InstallStatus> {
    return this.serial(() => this.reconcile());
  }

  /**
   * Records that the agent is about to reboot (call just before the reboot command): persisted, so
   * a device whose reboots change nothing the agent can see is not rebooted forever.
   */
  rebootRequested(): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('rebooting', 'rolled_back');
      // The first request counts: "the OS booted since" holds for it as for any later one, and
      // an agent killed right after this write reboots on its next start without writing again.
      if (r.rebootRequestedAt === undefined)
        await this.persist({ ...r, rebootRequestedAt: this.now() });
      return this.statusNow();
    });
  }

  /**
   * Milliseconds left until the new slot's persisted confirmation deadline (0 when passed). Never
   * more than the configured timeout, so a clock that jumped back does not stretch the wait.
   */
  confirmRemainingMs(): number {
    const deadline = this.record.confirmDeadline;
    if (deadline === undefined) return this.confirmTimeoutMs;
    return Math.max(0, Math.min(deadline - this.now(), this.confirmTimeoutMs));
  }

  /** `onBoot()`, then continues what can go on without the network (a cut-short verification). */
  async resume(): Promise<InstallStatus> {
    const s = await this.onBoot();
    return s.state === 'verifying' ? this.verify() : s;
  }

  /**
   * The health-check verdict on the new slot. Healthy: commit (mark good, raise the anti-rollback
   * floor). Unhealthy: mark it bad and point the bootloader back at the previous slot (`rolled_back`;
   * the caller reboots into it).
   */
  confirm(
    healthy: boolean,
    reason = 'health check failed',
    code = 'health_check_failed',
  ): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('confirming');
      const boot = await this.deps.slots.booted();
      if (boot.slot !== r.target)
        throw new UpdateError(
          'wrong_state',
          `running slot ${boot.slot}, not the new slot ${r.target}`,
        );
      if (healthy) {
        await this.persist({ ...r, state: 'committed', committedCounter: r.release!.counter });
        await this.applyCommit();
      } else if (r.confirmDeadline !== undefined && this.now() >= r.confirmDeadline) {
        // The check ran out of the time the persisted deadline left it (restarts used the rest).
        await this.rollback(`${deadlineMissed(r.target, r.confirmDeadline)}: ${reason}`, code);
      } else {
        await this.rollback(reason, code);
      }
      return this.statusNow(boot);
    });
  }

  /**
   * Abandons an install that has not switched the boot pointer (downloading, downloaded,
   * verifying, installing): the target is made unbootable again. With the code `canceled` the
   * state is `canceled`, with any other code (`download_failed` …) `failed`. The running slot was
   * never touched. Refused in any other state.
   */
  abandon(reason = 'canceled', code = 'canceled'): Promise<InstallStatus> {
    return this.serial(async () => {
      const r = this.expect('downloading', 'downloaded', 'verifying', 'installing');
      const state = code === 'canceled' ? 'canceled' : 'failed';
      await this.persist({ ...r, state, reason, code });
      await this.invalidateTarget(true);
      return this.statusNow();
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private async reconcile(): Promise<InstallStatus> {
    const r = this.record;
    const slots = this.deps.slots;
    const boot = await slots.booted();
    const control = await slots.readControl();
    switch (r.state) {
      case 'idle':
        break;
      case 'downloading':
      case 'downloaded':
      case 'verifying':
      case 'installing':
        // The boot pointer was never switched: the previous slot runs. Make sure the target is
        // still unbootable and cut any bytes past the durable offset.
        await this.invalidateTarget();
        break;
      case 'rebooting':
        if (control.primary !== r.target) {
          // Power cut between persisting 'rebooting' and the switch: switch now, reboot again.
          await this.switchToTarget();
        } else if (boot.bootId === r.activatedBootId) {
          // Switched, not rebooted yet (the agent restarted, the device did not) — unless the OS
          // did reboot since the agent asked and the boot id stayed: then the slots are not wired
          // to a bootloader, and rebooting again would loop forever.
          if (await this.rebootedUnseen(r))
            await this.rollback(
              `the device rebooted but did not boot the new slot ${r.target}: the boot id did not ` +
                'change (are the slots wired to the bootloader? see `bulwark agent setup`)',
              'boot_failed',
            );
        } else if (boot.slot === r.target) {
          await this.persist({
            ...r,
            state: 'confirming',
            confirmDeadline: this.now() + this.confirmTimeoutMs,
          });
        } else {
          await this.rollback(
            `new slot ${r.target} did not boot: bootloader fell back to ${boot.slot}`,
            'boot_failed',
          );
        }
        break;
      case 'confirming':
        if (boot.slot !== r.target)
          await this.rollback(
            `new slot ${r.target} was not confirmed within its boot attempts: bootloader fell back to ${boot.slot}`,
            'boot_failed',
          );
        else if (r.confirmDeadline === undefined)
          await this.persist({ ...r, confirmDeadline: this.now() + this.confirmTimeoutMs });
        else if (this.now() >= r.confirmDeadline)
          // The agent restarted (crashed, was killed) on the new slot until the deadline passed.
          await this.rollback(
            `${deadlineMissed(r.target, r.confirmDeadline)}: the agent restarted before a verdict`,
            'health_check_failed',
          );
        break;
      case 'committed':
        if (boot.slot === r.target) {
          await this.applyCommit();
        } else if (!control.slots[r.target!].good) {
          // The bootloader fell back before the commit reached the boot-control record.
          const prev = await slots.readManifest(boot.slot);
          this.record = { ...r, committedCounter: prev?.counter ?? 0 };
          await this.rollback(
            `bootloader fell back to ${boot.slot} before the commit landed`,
            'boot_failed',
          );
        }
        // Otherwise the committed slot later failed its boot attempts and the bootloader fell back
        // to the previous good slot: the install stays committed, the boot control is left alone
        // (re-arming the broken slot would loop), and the running slot is re-armed below.
        break;
      case 'failed':
      case 'rolled_back':
      case 'canceled':
        if (r.target !== undefined) await this.invalidateTarget(true);
        break;
    }
    await this.markRunningGood(boot);
    return this.statusNow(boot);
  }

  /**
   * RAUC's `mark-good` on every start of a good slot: its counter goes back to `bootAttempts`, so
   * only consecutive failed boots make the bootloader give up on it.
   */
  private async markRunningGood(boot: BootInfo): Promise<void> {
    const control = await this.deps.slots.readControl();
    const st = control.slots[boot.slot];
    if (!st.good || st.attemptsLeft === this.bootAttempts) return;
    await this.deps.slots.writeControl({
      ...control,
      slots: { ...control.slots, [boot.slot]: { attemptsLeft: this.bootAttempts, good: true } },
    });
  }

  /** The OS booted after the agent asked for a reboot, yet the boot id is the one of the request. */
  private async rebootedUnseen(r: InstallRecord): Promise<boolean> {
    if (r.rebootRequestedAt === undefined || this.deps.uptimeMs === undefined) return false;
    let uptime: number;
    try {
      uptime = await this.deps.uptimeMs();
    } catch {
      return false;
    }
    return this.now() - r.rebootRequestedAt > uptime + REBOOT_SLACK_MS;
  }

  private async statusNow(boot?: BootInfo): Promise<InstallStatus> {
    const r = this.record;
    let next: InstallNext = 'none';
    switch (r.state) {
      case 'downloading':
        next = 'download';
        break;
      case 'downloaded':
      case 'verifying':
        next = 'verify';
        break;
      case 'installing':
        next = 'activate';
        break;
      case 'rebooting':
        next = 'reboot';
        break;
      case 'confirming':
        next = 'health-check';
        break;
      case 'rolled_back': {
        const b = boot ?? (await this.deps.slots.booted());
        if (b.slot === r.target && !(await this.rebootedUnseen(r))) next = 'reboot';
        break;
      }
      default:
        break;
    }
    return { ...structuredClone(r), next };
  }

  /**
   * Side effect of begin/failed/rolled_back: the target slot is not good, has no attempts and no
   * manifest; the previous slot is the good primary. Unless `settled`, the image is also cut to the
   * durable offset (a download in progress). Idempotent.
   */
  private async invalidateTarget(settled = false): Promise<void> {
    const r = this.record;
    const target = r.target!;
    const previous = r.previous!;
    const control = await this.deps.slots.readControl();
    const want: BootControl = {
      primary: previous,
      order: [previous, target],
      slots: {
        ...control.slots,
        [target]: { attemptsLeft: 0, good: false },
      },
    };
    if (JSON.stringify(want) !== JSON.stringify(control)) await this.deps.slots.writeControl(want);
    if ((await this.deps.slots.readManifest(target)) !== undefined)
      await this.deps.slots.writeManifest(target, undefined);
    if (!settled && (await this.deps.slots.imageSize(target)) !== r.offset)
      await this.deps.slots.truncateImage(target, r.offset);
  }

  /** Side effect of 'rebooting': manifest on the target, boot pointer to it with trial attempts. */
  private async switchToTarget(): Promise<void> {
    const r = this.record;
    const target = r.target!;
    await this.deps.slots.writeManifest(target, r.release);
    const control = await this.deps.slots.readControl();
    await this.deps.slots.writeControl({
      primary: target,
      order: [target, r.previous!],
      slots: {
        ...control.slots,
        [target]: { attemptsLeft: this.bootAttempts, good: false },
      },
    });
  }

  /** Side effect of 'committed': the target is the good primary (the previous slot stays good as the fallback). */
  private async applyCommit(): Promise<void> {
    const r = this.record;
    const target = r.target!;
    const control = await this.deps.slots.readControl();
    const want: BootControl = {
      primary: target,
      order: [target, r.previous!],
      slots: {
        ...control.slots,
        [target]: { attemptsLeft: this.bootAttempts, good: true },
      },
    };
    if (JSON.stringify(want) !== JSON.stringify(control)) await this.deps.slots.writeControl(want);
  }

  private async fail(reason: string, code: string): Promise<void> {
    await this.persist({ ...this.record, state: 'failed', reason, code });
    await this.invalidateTarget(true);
  }

  private async rollback(reason: string, code = 'health_check_failed'): Promise<void> {
    await this.persist({ ...this.record, state: 'rolled_back', reason, code });
    await this.invalidateTarget(true);
  }

  private expect(...states: InstallStateName[]): InstallRecord {
    if (!states.includes(this.record.state))
      throw new UpdateError(
        'wrong_state',
        `expected state ${states.join(' or ')}, the install is ${this.record.state}`,
      );
    return this.record;
  }

  /** Writes the record atomically, then adopts it. */
  private async persist(next: InstallRecord): Promise<void> {
    const changed = next.state !== this.record.state;
    const history = changed
      ? [
          ...next.history,
          {
            state: next.state,
            at: this.now(),
            ...(next.reason !== undefined && ENDED.includes(next.state)
              ? { reason: next.reason }
              : {}),
          },
        ].slice(-HISTORY_MAX)
      : next.history;
    const record = { ...next, history };
    if (changed) delete record.rebootRequestedAt;
    if (!ENDED.includes(record.state)) {
      delete record.reason;
      delete record.code;
    }
    await this.deps.files.write(this.stateName, enc.encode(JSON.stringify(record)));
    this.record = record;
  }

  /** Runs calls one at a time (a chunk write must not interleave with a verify). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Why a new slot is rolled back once its persisted confirmation deadline passed. */
function deadlineMissed(target: string, deadline: number): string {
  return `new slot ${target} was not confirmed healthy by its deadline (${new Date(deadline).toISOString()})`;
}

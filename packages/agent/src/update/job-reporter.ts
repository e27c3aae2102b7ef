/**
 * The job side of an install: which job an install record belongs to, the job state each install
 * state reports, and the reports themselves on `updates/{jobId}/status` (throttled progress; each
 * state once, remembered across restarts in the job log; final reports kept for re-deliveries).
 */
import type { ChunkIndex } from '@bulwark/firmware';
import { updateTopic, type InstalledFirmware, type UpdateStatusReport } from '@bulwark/protocol';
import type { AgentClock } from '../ports.js';
import type { InstallStatus } from './install-record.js';
import type { JobLog } from './job-log.js';

/** What the install record carries about its job. */
export interface JobContext {
  id: string;
  artifactId: string;
  metadata: string;
  imagePath: string;
  deadline: string;
  chunkIndex?: ChunkIndex;
}

/** The job an install record belongs to. */
export function jobOf(s: { job?: Record<string, unknown> }): JobContext | undefined {
  return s.job as JobContext | undefined;
}

/** What the reporter works with. */
export interface JobReporterDeps {
  jobs: JobLog;
  clock: AgentClock;
  deviceId(): string | undefined;
  /** Queues a management message (durable, sent in order). */
  send(topic: string, body: unknown): Promise<void>;
  /** What the device runs (for succeeded / rolled_back). */
  installed(): Promise<InstalledFirmware>;
  /** Publishes the installed firmware (after a commit or a rollback). */
  publishInstalled(): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  emit(event: string, ...args: unknown[]): void;
}

/** Reports of one agent's update jobs. */
export class JobReporter {
  private lastProgress = { bytes: -1, at: 0 };

  constructor(private readonly deps: JobReporterDeps) {}

  /** Throttled download progress: every 5 % or every second. */
  async progress(s: InstallStatus): Promise<void> {
    const total = s.release!.length;
    const now = this.deps.clock.now();
    // A new download (or one cut back after a power cut) starts the throttle afresh.
    const p = s.offset < this.lastProgress.bytes ? { bytes: -1, at: 0 } : this.lastProgress;
    if (s.offset - p.bytes < total / 20 && now - p.at < 1000) return;
    this.lastProgress = { bytes: s.offset, at: now };
    const job = jobOf(s);
    if (job !== undefined && s.state === 'downloading')
      await this.send(job.id, { state: 'downloading', progress: { bytes: s.offset, total } });
  }

  /** Reports the job state of `s` unless already reported (or always, with `again`). */
  async report(s: InstallStatus, again = false): Promise<void> {
    const job = jobOf(s);
    const state = jobState(s);
    if (job === undefined || state === undefined) return;
    if (!again && this.deps.jobs.reported(job.id, state)) return;
    const body: UpdateStatusReport = { state };
    // Where the download got to: while downloading, once downloaded, and when the job ends early
    // (so a failed or canceled job shows its real last figure, not the last throttled one).
    if (
      s.release !== undefined &&
      (['downloading', 'downloaded'].includes(state) ||
        (['failed', 'canceled'].includes(state) && s.offset > 0))
    )
      body.progress = { bytes: s.offset, total: s.release.length };
    // The whole download's figures (all attempts, persisted with the install), from `downloaded` on.
    if (state !== 'downloading' && s.delta !== undefined) body.delta = { ...s.delta };
    if (s.reason !== undefined && ['failed', 'rolled_back', 'canceled'].includes(state)) {
      body.reason = s.code ?? state;
      body.message = s.reason;
    }
    if (state === 'succeeded' || state === 'rolled_back')
      body.installed = await this.deps.installed();
    if (['succeeded', 'failed', 'rolled_back', 'canceled'].includes(state)) {
      await this.finish(job.id, body);
      if (state !== 'failed' && state !== 'canceled') await this.deps.publishInstalled();
      return;
    }
    await this.send(job.id, body);
    await this.deps.jobs.noteReported(job.id, state);
  }

  /**
   * Refuses the hub's cancel request for the job of `s` (too late: the boot pointer moved). The
   * report names the job's state; the hub drops the request and the job goes on.
   */
  async refuseCancel(s: InstallStatus): Promise<void> {
    const job = jobOf(s);
    const state = jobState(s);
    if (job === undefined || state === undefined) return;
    await this.send(job.id, {
      state,
      cancel: 'refused',
      reason: 'too_late',
      message: `the new slot is already active (install state ${s.state})`,
    });
  }

  /** A final report: sent and remembered (a re-delivered offer gets it again). */
  async finish(id: string, report: UpdateStatusReport): Promise<void> {
    await this.send(id, report);
    await this.deps.jobs.noteFinished(id, report);
  }

  /** Sends one report on the job's status topic. */
  async send(jobId: string, full: UpdateStatusReport): Promise<void> {
    const id = this.deps.deviceId();
    if (id === undefined) return;
    // The hub takes at most 2048 characters of message.
    const report =
      full.message !== undefined && full.message.length > 2000
        ? { ...full, message: `${full.message.slice(0, 1999)}…` }
        : full;
    this.deps.emit('update-status', jobId, report);
    if (report.state !== 'downloading')
      this.deps.log(
        'info',
        `update job ${jobId}: ${report.state}${report.reason ? ` (${report.reason}: ${report.message ?? ''})` : ''}`,
      );
    await this.deps.send(updateTopic.status(id, jobId), report);
  }
}

/** The job state an install state reports. */
function jobState(s: InstallStatus): UpdateStatusReport['state'] | undefined {
  switch (s.state) {
    case 'downloading':
      return 'downloading';
    case 'downloaded':
    case 'verifying':
      return 'downloaded';
    case 'installing':
      return 'installing';
    case 'rebooting':
    case 'confirming':
      return 'rebooting';
    case 'committed':
      return 'succeeded';
    case 'failed':
    case 'rolled_back':
    case 'canceled':
      return s.state;
    default:
      return undefined;
  }
}

/**
 * The update part of the device plane (decisions 0008, 0015): offers a device its open update
 * job once it takes update offers, asks it to cancel a job with a pending cancel request, and
 * tells it to drop a job the hub ended on its own (timed out, canceled while the offer was in
 * flight). The device's reports come in through the device plane's `report`.
 *
 * Delivery: the job moves queued → delivered when the offer is handed to the device's session
 * (which redelivers it until the device acknowledges). On every new session a job still before
 * `installing` is offered again, so a restarted device resumes by job id. Jobs made on another
 * node, cancels asked there and overdue jobs are picked up by the sweep.
 */
import {
  BulwarkError,
  CANCELABLE_UPDATE_JOB_STATES,
  isTerminalUpdateState,
  type UpdateJobState,
} from '@bulwark/protocol';
import type { ManagementSignals } from '../management/signals.js';
import type { UpdateJobRecord } from '../ports/updates.js';
import type { UpdateJobService } from '../updates/job-service.js';
import type { DeviceLink, DevicePlaneLog } from './link.js';
import type { DeviceSessions, HeldSession } from './sessions.js';

/** A job in one of these states is offered (again) on a new session. */
const OFFERED: readonly UpdateJobState[] = CANCELABLE_UPDATE_JOB_STATES;

/** What update delivery works with. */
export interface UpdateDeliveryDeps {
  updates: Pick<
    UpdateJobService,
    | 'offerFor'
    | 'delivered'
    | 'abandon'
    | 'sweepOverdue'
    | 'openFor'
    | 'openForDevices'
    | 'get'
    | 'list'
  >;
  signals: ManagementSignals;
  link: DeviceLink;
  sessions: DeviceSessions;
  log: DevicePlaneLog;
}

/** Offers, cancel requests and cancels of one node. */
export class UpdateDelivery {
  readonly #d: UpdateDeliveryDeps;
  readonly #unlisten: () => void;

  constructor(d: UpdateDeliveryDeps) {
    this.#d = d;
    this.#unlisten = d.signals.listen({
      updateJobQueued: (job) => {
        const h = this.#taking(job);
        if (h) this.#offer(h, job).catch(this.#fail('offer'));
      },
      updateJobCanceled: (job) => this.#sendCancel(job),
      updateJobCancelRequested: (job) => {
        const h = this.#taking(job);
        if (h) this.#askCancel(h, job);
      },
      updateJobChanged: (job) => {
        if (job.state === 'timed_out') this.#sendCancel(job);
        else if (isTerminalUpdateState(job.state))
          this.#d.sessions.find(job.orgId, job.deviceId)?.offered.delete(job.id);
      },
    });
  }

  /** The session took update offers: its open job now (or a cancel it may still need). */
  subscribed(h: HeldSession): void {
    const { orgId, deviceId } = h.session;
    void (async () => {
      const job = await this.#d.updates.openFor(orgId, deviceId);
      if (!this.#d.sessions.current(h)) return;
      if (job) return this.#offer(h, job);
      // A job canceled or timed out while the device was away: it may still hold it.
      const [last] = (await this.#d.updates.list(orgId, { deviceId, limit: 1 })).items;
      if (last && this.#d.sessions.current(h)) this.#sendCancel(last);
    })().catch(this.#fail('offer on subscribe'));
  }

  /**
   * Times out overdue jobs (hub-wide), offers every session here its open job (or asks to cancel
   * it), and tells devices about jobs that ended elsewhere. A failure is logged and never stops
   * the rest of the device plane's sweep.
   */
  async sweep(): Promise<void> {
    await this.#d.updates.sweepOverdue().catch(this.#fail('timeouts'));
    for (const [orgId, held] of this.#d.sessions.byOrg(['updateOffer'])) {
      const ids = held.map((h) => h.session.deviceId);
      // At most one open job per device: asking for ids.length returns all of them.
      const open = await this.#d.updates
        .openForDevices(orgId, ids, ids.length)
        .catch((err: unknown) => {
          this.#fail('open jobs')(err);
          return undefined;
        });
      if (!open) continue;
      const openIds = new Set(open.map((j) => j.id));
      for (const job of open) {
        const h = this.#taking(job);
        if (h) await this.#offer(h, job).catch(this.#fail('offer'));
      }
      // A job this session holds that is no longer open ended on another node (or here).
      for (const h of held) {
        for (const jobId of [...h.offered]) {
          if (openIds.has(jobId)) continue;
          const job = await this.#d.updates.get(orgId, jobId).catch(() => undefined);
          if (job) this.#sendCancel(job);
          else h.offered.delete(jobId);
        }
      }
    }
  }

  stop(): void {
    this.#unlisten();
  }

  /** The device's current session here, if it takes update offers. */
  #taking(job: UpdateJobRecord): HeldSession | undefined {
    const h = this.#d.sessions.find(job.orgId, job.deviceId);
    return h?.takes.has('updateOffer') ? h : undefined;
  }

  /** Offers a job on the session, once per session — or asks to cancel it if that is pending. */
  async #offer(h: HeldSession, job: UpdateJobRecord): Promise<void> {
    if (job.cancelRequested) return this.#askCancel(h, job);
    if (!OFFERED.includes(job.state) || h.offered.has(job.id)) return;
    h.offered.add(job.id); // before the await: a signal and a sweep must not both send it
    try {
      const body = await this.#d.updates.offerFor(job);
      if (!this.#d.sessions.current(h)) return;
      if (!this.#d.link.deliver(h.session, { kind: 'updateOffer', body })) {
        h.offered.delete(job.id);
        return;
      }
      if (job.state === 'queued') await this.#d.updates.delivered(job.orgId, job.id);
    } catch (err) {
      h.offered.delete(job.id);
      // The artifact (or the organization's root) is gone: the job can never be offered.
      if (err instanceof BulwarkError && err.code === 'not_found') {
        await this.#d.updates.abandon(job, 'artifact_missing', err.message);
        return;
      }
      throw err;
    }
  }

  /**
   * Asks the device to cancel a job it may be working on (decision 0015), once per session; it
   * confirms with `canceled` or refuses, and until then the job keeps its state.
   */
  #askCancel(h: HeldSession, job: UpdateJobRecord): void {
    if (h.cancelAsked.has(job.id)) return;
    const sent = this.#d.link.deliver(h.session, {
      kind: 'updateOffer',
      body: { action: 'cancel', id: job.id },
    });
    if (sent) h.cancelAsked.add(job.id);
  }

  /**
   * Tells the device to drop a job the hub ended on its own — canceled, or timed out before
   * `installing` — after it was offered (on this session, or delivered on an earlier one).
   */
  #sendCancel(job: UpdateJobRecord): void {
    const h = this.#taking(job);
    if (!h) return;
    const before = job.history[job.history.length - 2]?.state;
    // Only an end the hub made (a `by` on the entry): a device that canceled itself knows.
    const mayHoldIt =
      (job.state === 'canceled' || job.state === 'timed_out') &&
      job.history.at(-1)?.by !== undefined &&
      before !== undefined &&
      OFFERED.includes(before) &&
      (before !== 'queued' || h.offered.has(job.id));
    h.offered.delete(job.id);
    if (mayHoldIt)
      this.#d.link.deliver(h.session, {
        kind: 'updateOffer',
        body: { action: 'cancel', id: job.id },
      });
  }

  #fail(what: string) {
    return (err: unknown) => this.#d.log.warn({ err }, `update plane: ${what}`);
  }
}

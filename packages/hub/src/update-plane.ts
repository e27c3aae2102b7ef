/**
 * The hub's side of the firmware update plane (protocol updates.ts, decision 0008): offers a
 * device its open update job once it subscribes to `$devices/{id}/updates/+`, takes in the device's
 * `updates/{jobId}/status` and `firmware` reports, and tells it when a job it holds was canceled or
 * timed out, or asks it to cancel one it holds (a request it confirms or refuses, decision 0015).
 *
 * Delivery: an offer is QoS 1; the job moves queued → delivered when the offer is handed to the
 * device's MQTT session (which redelivers it until the device acknowledges); a `delivered` report
 * from the device is accepted too. On every new connection a job still before `installing` is
 * offered again, so a restarted device resumes (the device knows the job by its id). Jobs created
 * on another node and cancellations made there are picked up by the periodic sweep, which also
 * times out overdue jobs (hub-wide).
 */
import type { Logger } from 'pino';
import {
  BulwarkError,
  CANCELABLE_UPDATE_JOB_STATES,
  isTerminalUpdateState,
  updateTopic,
  type UpdateCancelOffer,
  type UpdateJobState,
} from '@bulwark/protocol';
import {
  parseInstalledFirmware,
  parseUpdateStatusReport,
  type UpdateJobRecord,
} from '@bulwark/core';
import type { HubClient, InboundPublish, MqttEngine } from '@bulwark/transport';
import type { HubServices } from './services.js';

/** A job in one of these states is offered (again) on a new connection. */
const OFFERED: readonly UpdateJobState[] = CANCELABLE_UPDATE_JOB_STATES;

interface Link {
  orgId: string;
  sessionId: string;
  /** The device subscribed to its update offers. */
  subscribed: boolean;
  /** Jobs offered on this connection (re-offered on the next one). */
  sent: Set<string>;
  /** Jobs whose cancel request was sent on this connection (sent again on the next one). */
  cancels: Set<string>;
}

/** The update part of one node's device plane. */
export interface UpdatePlane {
  /** Consumes `updates/{jobId}/status` and `firmware`; false for anything else. */
  publish(c: HubClient, rest: string, msg: InboundPublish): Promise<boolean>;
  connected(c: HubClient): void;
  disconnected(c: HubClient): void;
  /** The device subscribed to its offers (a filter matching `$devices/{id}/updates/+`). */
  subscribed(c: HubClient): void;
  sweep(): Promise<void>;
  stop(): void;
}

/** Builds the update plane; `engine()` is null until the MQTT engine is started. */
export function createUpdatePlane(d: {
  services: HubServices;
  log: Logger;
  engine: () => MqttEngine | null;
}): UpdatePlane {
  const { services: s, log } = d;
  const links = new Map<string, Link>();
  const fail = (what: string) => (err: unknown) => log.warn({ err }, `update plane: ${what}`);
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
  const current = (job: UpdateJobRecord) => {
    const l = links.get(job.deviceId);
    return l && l.orgId === job.orgId && l.subscribed ? l : undefined;
  };

  /**
   * Asks the device to cancel a job it may be working on (decision 0015), once per connection;
   * it confirms with `canceled` or refuses, and until then the job keeps its state.
   */
  const askCancel = (link: Link, job: UpdateJobRecord) => {
    const engine = d.engine();
    if (!engine || link.cancels.has(job.id)) return;
    const body: UpdateCancelOffer = { action: 'cancel', id: job.id };
    const ok = engine.deliverTo(job.deviceId, {
      topic: updateTopic.offer(job.deviceId, job.id),
      payload: encode(body),
      qos: 1,
      properties: { contentType: 'application/json' },
    });
    if (ok) link.cancels.add(job.id);
  };

  /** Offers a job on the device's connection, once per connection (or asks to cancel it). */
  const offer = async (link: Link, job: UpdateJobRecord) => {
    if (job.cancelRequested) return askCancel(link, job);
    const engine = d.engine();
    if (!engine || !OFFERED.includes(job.state) || link.sent.has(job.id)) return;
    link.sent.add(job.id); // before the await: a signal and a sweep must not both send it
    try {
      const body = await s.updates.offerFor(job);
      if (links.get(job.deviceId) !== link) return;
      const ok = engine.deliverTo(job.deviceId, {
        topic: updateTopic.offer(job.deviceId, job.id),
        payload: encode(body),
        qos: 1,
        properties: { contentType: 'application/json' },
      });
      if (!ok) {
        link.sent.delete(job.id);
        return;
      }
      if (job.state === 'queued') await s.updates.delivered(job.orgId, job.id);
    } catch (err) {
      link.sent.delete(job.id);
      // The artifact (or the organization's root) is gone: the job can never be offered.
      if (err instanceof BulwarkError && err.code === 'not_found') {
        await s.updates.abandon(job, 'artifact_missing', err.message);
        return;
      }
      throw err;
    }
  };

  /**
   * Tells the device to drop a job it may hold: one canceled, or timed out before `installing`,
   * after it was offered (on this connection, or delivered on an earlier one).
   */
  const sendCancel = (job: UpdateJobRecord) => {
    const engine = d.engine();
    const link = current(job);
    if (!engine || !link) return;
    const before = job.history[job.history.length - 2]?.state;
    // Only an end the hub made (a `by` on the entry): a device that canceled itself knows.
    const mayHoldIt =
      (job.state === 'canceled' || job.state === 'timed_out') &&
      job.history.at(-1)?.by !== undefined &&
      before !== undefined &&
      OFFERED.includes(before) &&
      (before !== 'queued' || link.sent.has(job.id));
    link.sent.delete(job.id);
    if (!mayHoldIt) return;
    const body: UpdateCancelOffer = { action: 'cancel', id: job.id };
    engine.deliverTo(job.deviceId, {
      topic: updateTopic.offer(job.deviceId, job.id),
      payload: encode(body),
      qos: 1,
      properties: { contentType: 'application/json' },
    });
  };

  const unlisten = s.managementSignals.listen({
    updateJobQueued: (job) => {
      const l = current(job);
      if (l) offer(l, job).catch(fail('offer'));
    },
    updateJobCanceled: (job) => sendCancel(job),
    updateJobCancelRequested: (job) => {
      const l = current(job);
      if (l) askCancel(l, job);
    },
    updateJobChanged: (job) => {
      if (job.state === 'timed_out') sendCancel(job);
      else if (isTerminalUpdateState(job.state)) links.get(job.deviceId)?.sent.delete(job.id);
    },
  });

  /**
   * Times out overdue jobs (hub-wide), offers every connected device its open job, and tells
   * devices about jobs that ended elsewhere. A failure is logged and never stops the rest of the
   * device plane's sweep.
   */
  const sweep = async () => {
    await s.updates.sweepOverdue().catch(fail('timeouts'));
    const byOrg = new Map<string, string[]>();
    for (const [id, l] of links) {
      if (!l.subscribed) continue;
      const list = byOrg.get(l.orgId);
      if (list) list.push(id);
      else byOrg.set(l.orgId, [id]);
    }
    for (const [orgId, ids] of byOrg) {
      // At most one open job per device: asking for ids.length returns all of them.
      const open = await s.updates.openForDevices(orgId, ids, ids.length).catch((err: unknown) => {
        fail('open jobs')(err);
        return undefined;
      });
      if (!open) continue;
      const openIds = new Set(open.map((j) => j.id));
      for (const job of open) {
        const l = current(job);
        if (l) await offer(l, job).catch(fail('offer'));
      }
      // A job this connection holds that is no longer open ended on another node (or here).
      for (const id of ids) {
        const l = links.get(id);
        for (const jobId of [...(l?.sent ?? [])]) {
          if (openIds.has(jobId)) continue;
          const job = await s.updates.get(orgId, jobId).catch(() => undefined);
          if (job) sendCancel(job);
          else l?.sent.delete(jobId);
        }
      }
    }
  };

  return {
    async publish(c, rest, msg) {
      const status = /^updates\/([^/]+)\/status$/.exec(rest);
      if (status) {
        await s.updates.report(c.orgId, c.id, status[1]!, parseUpdateStatusReport(msg.payload));
        return true;
      }
      if (rest === 'firmware') {
        await s.updates.installedReported(c.orgId, c.id, parseInstalledFirmware(msg.payload));
        return true;
      }
      return false;
    },
    connected(c) {
      links.set(c.id, {
        orgId: c.orgId,
        sessionId: c.sessionId,
        subscribed: false,
        sent: new Set(),
        cancels: new Set(),
      });
    },
    disconnected(c) {
      if (links.get(c.id)?.sessionId === c.sessionId) links.delete(c.id);
    },
    subscribed(c) {
      const link = links.get(c.id);
      if (!link || link.sessionId !== c.sessionId) return;
      link.subscribed = true;
      void (async () => {
        const job = await s.updates.openFor(c.orgId, c.id);
        if (links.get(c.id) !== link) return;
        if (job) return offer(link, job);
        // A job canceled or timed out while the device was away: it may still hold it.
        const [last] = (await s.updates.list(c.orgId, { deviceId: c.id, limit: 1 })).items;
        if (last && links.get(c.id) === link) sendCancel(last);
      })().catch(fail('offer on subscribe'));
    },
    sweep,
    stop: unlisten,
  };
}

/**
 * Eclipse hawkBit's Direct Device Integration (DDI) API v1, device side, so existing hawkBit clients
 * (SWUpdate's suricatta, rauc-hawkbit-updater …) can use a Bulwark hub as their server
 * (decision 0012). `{tenant}` is the organization id, `{controllerId}` the device id. A controller
 * authenticates with `Authorization: TargetToken <device key>` or its client certificate.
 *
 *   GET  /{tenant}/controller/v1/{controllerId}                                   polling base
 *   GET  …/deploymentBase/{actionId}              POST …/deploymentBase/{actionId}/feedback
 *   GET  …/cancelAction/{actionId}                POST …/cancelAction/{actionId}/feedback
 *   PUT  …/configData                             GET  …/softwaremodules/{moduleId}/artifacts/{file}[.MD5SUM]
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  requirePlane,
  type EdgeCredential,
  type FirmwareArtifactRecord,
  type Principal,
  type UpdateJobRecord,
} from '@bulwark/core';
import {
  BulwarkError,
  canMoveUpdateJob,
  isTerminalUpdateState,
  type UpdateJobState,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import { httpStatus, normalizeError } from '../problem.js';
import { sendImage as sendDownload } from '../send-image.js';
import type { DdiCaller, DdiDeps } from './deps.js';
import {
  cancelAnswer,
  detailsMessage,
  parseFeedback,
  targetState,
  type DdiFeedback,
} from './feedback.js';
import { LegacyHashCache } from './hashes.js';
import {
  cancelAnswered,
  mergeConfigData,
  parseConfigData,
  recordCancelAnswer,
  wantsConfigData,
} from './twin-section.js';
import { cancelAction, controllerBase, deploymentBase, pollingBase } from './views.js';

type Params = { tenant: string; controllerId: string };
type ActionParams = Params & { actionId: string };
type FileParams = Params & { moduleId: string; fileName: string };

const BASE = '/:tenant/controller/v1/:controllerId';
// Feedback carries a client's log lines (SWUpdate: up to 48 of up to 2 KiB); config data is small.
const FEEDBACK_BODY_LIMIT = 256 * 1024;
const CONFIG_BODY_LIMIT = 64 * 1024;

/** hawkBit's error codes where one fits; others name the Bulwark code. */
const HAWKBIT_CODES: Partial<Record<string, string>> = {
  not_found: 'hawkbit.server.error.repo.entitiyNotFound',
  validation_failed: 'hawkbit.server.error.rest.param.invalid',
  malformed_body: 'hawkbit.server.error.rest.body.notReadable',
  update_action_closed: 'hawkbit.server.error.action.closed',
};

/** Registers the DDI routes on the app, in their own context (own error handler and parsers). */
export async function registerDdiRoutes(app: FastifyInstance, d: DdiDeps): Promise<void> {
  const hashes = new LegacyHashCache();
  await app.register(async (ddi) => {
    // hawkBit-style error body: {errorCode, message} (+ Bulwark's stable `code`).
    ddi.setErrorHandler(async (err, _req, reply) => {
      const e = normalizeError(err);
      if (e.kind === 'internal') reply.log.error({ err }, 'internal error in DDI route');
      if (e.kind === 'unauthenticated') reply.header('www-authenticate', 'TargetToken');
      return reply
        .code(httpStatus(e.kind))
        .type('application/json')
        .send({
          errorCode: HAWKBIT_CODES[e.code] ?? `hawkbit.server.error.${e.code}`,
          message: e.message,
          code: e.code,
        });
    });

    ddi.get<{ Params: Params }>(BASE, async (req) => {
      const c = await authenticate(req);
      const { orgId, id } = c.device;
      const reported = (await d.twins.get(orgId, id)).reported?.state;
      const open = await d.jobs.openFor(orgId, id);
      // An open job with a cancel request is shown as the cancelAction until the controller
      // answers it, as hawkBit shows an action being canceled (decision 0015).
      let next: Parameters<typeof pollingBase>[2] = open
        ? open.cancelRequested
          ? { cancel: open }
          : { open }
        : null;
      if (!open) {
        const last = await d.jobs.latestFor(orgId, id);
        if (last && endedByHub(last) && cancelAnswered(reported) !== last.actionId)
          next = { cancel: last };
      }
      return pollingBase(baseOf(d, req), d.pollSeconds, next, wantsConfigData(reported));
    });

    ddi.get<{ Params: ActionParams }>(`${BASE}/deploymentBase/:actionId`, async (req) => {
      const c = await authenticate(req);
      const job = await jobOf(c, req.params.actionId);
      if (isTerminalUpdateState(job.state)) throw closed(job);
      const artifact = await d.firmware.get(principal(c), job.artifactId);
      const legacy = await legacyHashes(c, artifact);
      // Fetching the deployment is the controller taking delivery of the job.
      if (job.state === 'queued') await d.jobs.delivered(c.device.orgId, job.id);
      return deploymentBase(baseOf(d, req), job, artifact, legacy);
    });

    ddi.post<{ Params: ActionParams; Body: unknown }>(
      `${BASE}/deploymentBase/:actionId/feedback`,
      { bodyLimit: FEEDBACK_BODY_LIMIT },
      async (req, reply) => {
        const c = await authenticate(req);
        const job = await jobOf(c, req.params.actionId);
        const f = parseFeedback(req.body, job.actionId);
        await applyFeedback(c, job, f);
        return reply.code(200).send();
      },
    );

    ddi.get<{ Params: ActionParams }>(`${BASE}/cancelAction/:actionId`, async (req) => {
      const c = await authenticate(req);
      const job = await jobOf(c, req.params.actionId);
      if (!(job.cancelRequested && !isTerminalUpdateState(job.state)) && !endedByHub(job))
        throw new BulwarkError('not_found', `action ${job.actionId} is not being canceled`);
      return cancelAction(job);
    });

    ddi.post<{ Params: ActionParams; Body: unknown }>(
      `${BASE}/cancelAction/:actionId/feedback`,
      { bodyLimit: FEEDBACK_BODY_LIMIT },
      async (req, reply) => {
        const c = await authenticate(req);
        const job = await jobOf(c, req.params.actionId);
        const f = parseFeedback(req.body, job.actionId);
        if (job.cancelRequested && !isTerminalUpdateState(job.state)) {
          await answerCancel(c, job, f);
          return reply.code(200).send();
        }
        if (!endedByHub(job))
          throw new BulwarkError('not_found', `action ${job.actionId} is not being canceled`);
        // The hub itself ended the job (timed out, abandoned): it is terminal, so the answer
        // cannot change it; it is recorded so the hub stops offering the cancelAction.
        await recordCancelAnswer(d.twins, c.device.orgId, c.device.id, {
          actionId: job.actionId,
          execution: f.execution,
          finished: f.finished,
          message: detailsMessage(f.details) ?? null,
        });
        return reply.code(200).send();
      },
    );

    ddi.put<{ Params: Params; Body: unknown }>(
      `${BASE}/configData`,
      { bodyLimit: CONFIG_BODY_LIMIT },
      async (req, reply) => {
        const c = await authenticate(req);
        const data = parseConfigData(req.body);
        await mergeConfigData(d.twins, c.device.orgId, c.device.id, data);
        return reply.code(200).send();
      },
    );

    ddi.get<{ Params: FileParams }>(
      `${BASE}/softwaremodules/:moduleId/artifacts/:fileName`,
      async (req, reply) => {
        const c = await authenticate(req);
        const { moduleId, fileName } = req.params;
        const md5 = fileName.endsWith('.MD5SUM');
        const name = md5 ? fileName.slice(0, -'.MD5SUM'.length) : fileName;
        const artifact = await d.firmware.get(principal(c), moduleId);
        if (artifact.name !== name)
          throw new BulwarkError(
            'not_found',
            `software module ${moduleId} has no artifact '${name}'`,
          );
        if (md5) {
          const h = await legacyHashes(c, artifact);
          return reply.type('text/plain').send(`${h.md5}  ${artifact.name}\n`);
        }
        return sendImage(c, artifact, req, reply);
      },
    );
  });

  /**
   * The controller, through the admission rule: its client certificate or `TargetToken <device
   * key>`, which must be the path's controller in the path's tenant. Updates stay open to a
   * quarantined device (policy.ts).
   */
  async function authenticate(req: FastifyRequest<{ Params: Params }>): Promise<DdiCaller> {
    const { tenant, controllerId } = req.params;
    const socket = req.raw.socket as Partial<TLSSocket>;
    const peer = socket.getPeerCertificate?.(false);
    const header = req.headers.authorization ?? '';
    let credential: EdgeCredential;
    if (peer?.raw) {
      const org = peer.subject?.O;
      if (typeof org !== 'string')
        throw new BulwarkError('certificate_invalid', 'not a Bulwark device certificate');
      credential = { kind: 'certificate', der: peer.raw, claimedOrgId: org };
    } else if (/^TargetToken\s+\S+$/i.test(header)) {
      const secret = header.replace(/^TargetToken\s+/i, '');
      credential = { kind: 'device_key', deviceId: controllerId, secret };
    } else if (/^GatewayToken\s/i.test(header)) {
      throw new BulwarkError(
        'unauthenticated',
        'gateway tokens are not supported; use a target token',
      );
    } else {
      throw new BulwarkError(
        'unauthenticated',
        'send "Authorization: TargetToken <device key>" or present the device certificate',
      );
    }
    const p = await d.admission.admit({
      credential,
      transport: 'ddi',
      source: req.ip,
      claims: { orgId: tenant, deviceId: controllerId },
    });
    if (p.type !== 'device') throw new BulwarkError('certificate_required');
    requirePlane(p, 'updates');
    return {
      device: p.device,
      cert: p.credential.kind === 'certificate' ? p.credential.cert : null,
    };
  }

  async function jobOf(c: DdiCaller, raw: string): Promise<UpdateJobRecord> {
    const actionId = /^[1-9][0-9]{0,14}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(actionId))
      throw new BulwarkError('validation_failed', `action id '${raw}' is not a positive integer`, {
        extra: { field: 'actionId' },
      });
    const job = await d.jobs.byActionId(c.device.orgId, actionId);
    if (!job || job.deviceId !== c.device.id)
      throw new BulwarkError('not_found', `no action ${actionId} for this controller`);
    return job;
  }

  async function applyFeedback(c: DdiCaller, job: UpdateJobRecord, f: DdiFeedback): Promise<void> {
    if (isTerminalUpdateState(job.state)) throw closed(job);
    const to = targetState(f);
    const message = detailsMessage(f.details);
    // scheduled / resumed, or progress the job is already past (e.g. SWUpdate's log lines while
    // it installs): the state stays; the controller's words are kept in the history.
    if (to === null || !canMoveUpdateJob(job.state, to)) {
      if (message) await report(c, job, { state: reportable(job.state), message });
      return;
    }
    const r: UpdateStatusReport = { state: to as UpdateStatusReport['state'] };
    if (message) r.message = message;
    if (to === 'failed') r.reason = 'install_failed';
    if (to === 'rejected') r.reason = 'rejected_by_device';
    if (to === 'canceled') r.reason = 'canceled';
    if (to === 'succeeded') {
      const a = await d.firmware.get(principal(c), job.artifactId);
      r.installed = { type: c.device.type, version: a.version, releaseCounter: a.releaseCounter };
    }
    await report(c, job, r);
  }

  /**
   * The controller answers a cancel request (decision 0015): a confirmation ends the job
   * `canceled`; a refusal drops the request and the job goes on (what the controller reports next
   * is recorded as it is); anything else only keeps its words in the history.
   */
  async function answerCancel(c: DdiCaller, job: UpdateJobRecord, f: DdiFeedback): Promise<void> {
    const answer = cancelAnswer(f);
    const message = detailsMessage(f.details);
    const state = reportable(job.state);
    if (answer === 'confirmed')
      return report(c, job, {
        state: 'canceled',
        reason: 'canceled',
        message: message ?? 'the controller confirmed the cancel',
      });
    if (answer === 'refused')
      return report(c, job, {
        state,
        cancel: 'refused',
        reason: 'cancel_rejected',
        message: message ?? 'the controller refused the cancel',
      });
    if (message) await report(c, job, { state, message });
  }

  async function report(c: DdiCaller, job: UpdateJobRecord, r: UpdateStatusReport): Promise<void> {
    const outcome = await d.jobs.report(c.device.orgId, c.device.id, job.id, r);
    if (outcome === 'ignored') {
      // Nothing changed: the job ended meanwhile (410), or moved so this no longer applies.
      const now = await d.jobs.byActionId(c.device.orgId, job.actionId);
      if (now && isTerminalUpdateState(now.state)) throw closed(now);
      throw new BulwarkError('conflict', `action ${job.actionId} changed meanwhile; poll again`);
    }
  }

  function legacyHashes(c: DdiCaller, a: FirmwareArtifactRecord) {
    return hashes.get(a.sha256, async () => {
      const dl = await d.firmware.download(principal(c), a.id);
      if (dl.kind === 'unsatisfiable') throw new BulwarkError('internal_error', 'image unreadable');
      return dl.body;
    });
  }

  async function sendImage(
    c: DdiCaller,
    artifact: FirmwareArtifactRecord,
    req: FastifyRequest,
    reply: FastifyReply,
  ) {
    const dl = await d.firmware.download(principal(c), artifact.id, req.headers.range);
    return sendDownload(reply, dl, artifact);
  }
}

/** Terminal states the hub itself can end a job in (timeout, abandon; a forced end). */
const ENDED_BY_HUB: readonly UpdateJobState[] = ['canceled', 'timed_out', 'failed'];

/**
 * Did the hub end this job on its own after the controller took delivery of it? Then the
 * controller may be working on it and must be told to stop (DDI `cancelAction`). A job ended
 * while still queued was never seen; an end the controller reported itself (no `by` in the entry,
 * a confirmed cancel included) needs no telling.
 */
function endedByHub(job: UpdateJobRecord): boolean {
  if (!ENDED_BY_HUB.includes(job.state)) return false;
  const end = job.history.at(-1);
  return (
    end?.state === job.state &&
    end.by !== undefined &&
    job.history.some((h) => h.state === 'delivered')
  );
}

/** A job state as a device report may name it (an open job past `queued`; `queued` itself → delivered). */
function reportable(s: UpdateJobState): UpdateStatusReport['state'] {
  return s === 'queued' || s === 'timed_out' ? 'delivered' : s;
}

function closed(job: UpdateJobRecord): BulwarkError {
  return new BulwarkError('update_action_closed', `action ${job.actionId} is ${job.state}`, {
    extra: { state: job.state },
  });
}

function principal(c: DdiCaller): Principal {
  const { device } = c;
  return {
    kind: 'device',
    id: device.id,
    orgId: device.orgId,
    name: device.name,
    role: null,
    permissions: [],
  };
}

/** The controller's base URL on the hub's configured public origin (never the Host header). */
function baseOf(d: DdiDeps, req: FastifyRequest<{ Params: Params }>): string {
  return controllerBase(d.publicOrigin(), req.params.tenant, req.params.controllerId);
}

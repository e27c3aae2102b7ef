import type { ServerOptions } from 'node:https';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  BulwarkError,
  ROUTES,
  type OperationId,
  type RouteDef,
  type StreamedResponse,
} from '@bulwark/protocol';
import type { EdgePrincipal } from '@bulwark/core';
import type { HandlerContext, Handlers, HttpServices } from './context.js';
import { webSession } from './session-cookie.js';
import { auditHandlers } from './handlers/audit.js';
import { authHandlers } from './handlers/auth.js';
import { deviceHandlers } from './handlers/devices.js';
import { firmwareHandlers } from './handlers/firmware.js';
import { identityHandlers } from './handlers/identity.js';
import { messagingHandlers } from './handlers/messaging.js';
import { pkiHandlers } from './handlers/pki.js';
import { gatewayHandlers } from './handlers/gateway.js';
import { provisioningHandlers } from './handlers/provisioning.js';
import { checkHandlers } from './handlers/checks.js';
import { alertHandlers } from './handlers/alerts.js';
import { maintenanceWindowHandlers } from './handlers/maintenance-windows.js';
import { ruleHandlers } from './handlers/rules.js';
import { mitigationHandlers } from './handlers/mitigations.js';
import { viewHandlers } from './handlers/views.js';
import { bulkActionHandlers } from './handlers/bulk-actions.js';
import { metricsHistoryHandlers } from './handlers/metrics-history.js';
import { detectHandlers } from './handlers/detect.js';
import { lwm2mHandlers } from './handlers/lwm2m.js';
import { managementHandlers } from './handlers/management.js';
import { logHandlers } from './handlers/logs.js';
import { ticketHandlers } from './handlers/tickets.js';
import { rolloutHandlers } from './handlers/rollouts.js';
import { updateHandlers } from './handlers/updates.js';
import type { DdiDeps } from './ddi/deps.js';
import { registerDdiRoutes } from './ddi/routes.js';
import { registerLwm2mFirmwareRoutes, type Lwm2mFirmwareDownloadDeps } from './lwm2m-firmware.js';
import { AnonymousAuditSampler } from './anonymous-audit.js';
import { authFailureReason, type AuthFailureReason } from './auth-failures.js';
import { asyncApiDocument } from './asyncapi.js';
import { openApiDocument } from './openapi.js';
import { setSecurityHeaders } from './security-headers.js';
import { isConsolePage, registerConsole } from './console.js';
import { normalizeError, toProblem } from './problem.js';
import { eventHandlers } from './handlers/events.js';
import { responseValidators } from './response-validator.js';
import {
  DEFAULT_EVENT_STREAM,
  LiveEvents,
  type EventStreamSettings,
  type StreamCloseReason,
} from './event-stream.js';

/** Options of the REST API server. */
export interface HttpApiOptions {
  services: HttpServices;
  /** TLS options (key, cert …); client certificates are requested but checked by the routes. */
  https?: ServerOptions;
  logger?: FastifyBaseLogger;
  /** Largest accepted request body; CSRs and JSON bodies are small (default 256 KiB). */
  bodyLimit?: number;
  /** Is every dependency ready (for /readyz)? */
  ready: () => Promise<boolean>;
  /** The hawkBit DDI device API (decision 0012), when the hub serves it. */
  ddi?: DdiDeps;
  /** The download links of LwM2M firmware jobs (decision 0044), when the hub serves LwM2M. */
  lwm2mFirmware?: Lwm2mFirmwareDownloadDeps;
  /** Called for every failed HTTP authentication (the hub counts them by reason). */
  onAuthFailure?: (reason: AuthFailureReason) => void;
  /** Called for every failed request of an anonymous caller (counted; the audit log samples). */
  onAnonymousFailure?: () => void;
  /**
   * The time the audit sampler's windows and the audit verification's cache run on (the hub's
   * clock; default Date.now).
   */
  now?: () => number;
  /** Sampling of anonymous failures in the audit log (decision 0013). */
  anonymousAudit?: { windowMs: number; rowBudget: number; maxKeys: number };
  /** The built web console's directory (decision 0038); without it, no console is served. */
  consoleDir?: string;
  /** The live event stream's heartbeat, backlog bound and history (decision 0038 amendment). */
  eventStream?: Partial<EventStreamSettings>;
  /** Called when an event stream opens and when one closes, with why (the hub counts them). */
  onEventStream?: (what: 'open' | StreamCloseReason) => void;
}

/**
 * One audited row per source per minute for anonymous failures; 120 first rows a minute over all
 * sources bounds a flood from many addresses at a few rows a second; 10,000 keys are ~2 MiB.
 */
const DEFAULT_ANONYMOUS_AUDIT = { windowMs: 60_000, rowBudget: 120, maxKeys: 10_000 };

/** The API version an anonymous caller may see (the build version is not shown before login). */
const API_VERSION = '1';

declare module 'fastify' {
  interface FastifyRequest {
    bulwark: HandlerContext;
    bulwarkError?: BulwarkError;
  }
  interface FastifyContextConfig {
    op?: OperationId;
  }
}

const PREFIX = '/api/v1';

/** A device principal as the handlers see it (its record, the certificate it used if any). */
function admitted(p: EdgePrincipal): NonNullable<HandlerContext['device']> {
  if (p.type !== 'device')
    throw new BulwarkError('certificate_required', 'a device credential is required here');
  return {
    device: p.device,
    cert: p.credential.kind === 'certificate' ? p.credential.cert : null,
    principal: p,
  };
}

/** Builds the Fastify app serving the REST API, OpenAPI document and health endpoints. */
export async function createHttpApi(opts: HttpApiOptions): Promise<FastifyInstance> {
  const s = opts.services;
  const app = Fastify({
    ...(opts.https
      ? { https: { ...opts.https, requestCert: true, rejectUnauthorized: false } }
      : {}),
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const live = new LiveEvents(s.events, { ...DEFAULT_EVENT_STREAM, ...opts.eventStream });
  // Open streams end before the server closes (it waits for its connections).
  app.addHook('preClose', async () => live.close());
  const handlers: Handlers = {
    ...eventHandlers(live, opts.onEventStream),
    ...authHandlers(s),
    ...identityHandlers(s),
    ...deviceHandlers(s),
    ...pkiHandlers(s),
    ...gatewayHandlers(s),
    ...auditHandlers(s, opts.now ?? Date.now),
    ...updateHandlers(s),
    ...messagingHandlers(s),
    ...ticketHandlers(s),
    ...managementHandlers(s),
    ...lwm2mHandlers(s),
    ...logHandlers(s),
    ...alertHandlers(s),
    ...maintenanceWindowHandlers(s),
    ...mitigationHandlers(s),
    ...viewHandlers(s),
    ...bulkActionHandlers(s),
    ...metricsHistoryHandlers(s),
    ...firmwareHandlers(s),
    ...rolloutHandlers(s),
    ...provisioningHandlers(s),
    ...checkHandlers(s),
    ...ruleHandlers(s),
    ...detectHandlers(s),
  };
  const checkResponse = responseValidators();

  app.decorateRequest('bulwark', null as unknown as HandlerContext);
  app.addHook('onRequest', async (req) => {
    req.bulwark = {
      principal: null,
      device: null,
      source: req.ip,
      audit: {},
      web: webSession(req),
    };
  });
  // The refresh cookie a handler set or cleared goes with its answer, an error included.
  app.addHook('onSend', async (req, reply, payload) => {
    const cookies = req.bulwark?.web?.setCookies;
    if (cookies !== undefined && cookies.length > 0) reply.header('set-cookie', cookies);
    return payload;
  });

  app.setErrorHandler(async (err, req, reply) => {
    const e = normalizeError(err);
    req.bulwarkError = e;
    if (e.kind === 'internal') req.log.error({ err }, 'internal error');
    const problem = toProblem(e, req.url);
    if (e.kind === 'unauthenticated') reply.header('www-authenticate', 'Bearer');
    if (typeof e.extra['retryAfter'] === 'number')
      reply.header('retry-after', String(e.extra['retryAfter']));
    return reply.code(problem.status).type('application/problem+json').send(problem);
  });
  const consolePage = opts.consoleDir ? await registerConsole(app, opts.consoleDir) : undefined;
  app.setNotFoundHandler(async (req, reply) => {
    // A client-side route of the console (a browser asking for a page), never an API path.
    if (consolePage && isConsolePage(req)) return consolePage(req, reply);
    const problem = toProblem(
      new BulwarkError('route_not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
      req.url,
    );
    return reply.code(404).type('application/problem+json').send(problem);
  });

  const sampler = new AnonymousAuditSampler({
    ...(opts.anonymousAudit ?? DEFAULT_ANONYMOUS_AUDIT),
    now: opts.now ?? Date.now,
    write: (row) => s.audit.record(row),
  });
  const sampleWindow = (opts.anonymousAudit ?? DEFAULT_ANONYMOUS_AUDIT).windowMs;
  const flusher = setInterval(() => {
    sampler.flush().catch((err: unknown) => app.log.warn({ err }, 'audit summary failed'));
  }, sampleWindow).unref();
  app.addHook('onClose', async () => {
    clearInterval(flusher);
    await sampler.flush(true);
  });

  // Every response, errors and other contexts (DDI, /metrics) included, gets the security
  // headers; every failed authentication is counted.
  app.addHook('onSend', async (req, reply, payload) => {
    setSecurityHeaders(reply);
    const reason = req.bulwarkError && authFailureReason(req.bulwarkError.code);
    if (reason) opts.onAuthFailure?.(reason);
    return payload;
  });

  // Every mutating call is audited — success or failure — before its response leaves; failures
  // of anonymous callers are counted and sampled instead (anonymous-audit.ts), so that nobody can
  // grow the hash chain one row per request without proving who they are.
  app.addHook('onSend', async (req, reply, payload) => {
    const op = req.routeOptions.config.op;
    if (!op || req.method === 'GET') return payload;
    const ctx = req.bulwark;
    const p = ctx.principal;
    const params = (req.params ?? {}) as Record<string, string>;
    const actorType = p ? p.kind : ctx.device ? 'device' : (ctx.audit.actorType ?? 'anonymous');
    const result = reply.statusCode < 400 ? 'success' : 'failure';
    const row = {
      orgId: p?.orgId ?? ctx.device?.device.orgId ?? ctx.audit.orgId ?? null,
      actorType,
      actorId: p?.id ?? ctx.device?.device.id ?? ctx.audit.actorId ?? null,
      action: op,
      targetType: ROUTES[op].tag,
      targetId: ctx.audit.targetId ?? params['id'] ?? null,
      source: ctx.source,
      result,
      detail: {
        ...ctx.audit.detail,
        status: reply.statusCode,
        ...(req.bulwarkError ? { error: req.bulwarkError.code } : {}),
      },
    } as const;
    if (actorType === 'anonymous' && result === 'failure') {
      opts.onAnonymousFailure?.();
      await sampler.record(row);
    } else await s.audit.record(row);
    return payload;
  });

  const register = (target: FastifyInstance, op: OperationId, r: RouteDef) => {
    const handler = handlers[op] as (input: unknown, ctx: HandlerContext) => Promise<unknown>;
    if (typeof handler !== 'function') throw new Error(`no handler for operation ${op}`);
    target.route({
      method: r.method,
      url: PREFIX + r.path,
      config: { op },
      ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
      schema: {
        ...(r.params ? { params: r.params } : {}),
        ...(r.query ? { querystring: r.query } : {}),
        ...(r.body ? { body: r.body } : {}),
      },
      // Authentication runs first, before the body is parsed or validated, so an anonymous
      // caller learns nothing about a route's schema (issue 11).
      onRequest: async (req) => authenticate(req, r),
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const input = {
          params: req.params,
          query: req.query,
          // a streamed body is the request itself, left unread by its content-type parser
          body: r.streamBody ? req.raw : req.body,
          contentType: req.headers['content-type'],
          ...(r.streamResponse && req.headers.range ? { range: req.headers.range } : {}),
          ...(r.streamResponse && typeof req.headers['last-event-id'] === 'string'
            ? { lastEventId: req.headers['last-event-id'] }
            : {}),
        };
        const out = await handler(input, req.bulwark);
        if (r.streamResponse) {
          const o = out as StreamedResponse;
          reply.code(o.status).headers(o.headers);
          if (!o.body) return reply.send();
          return reply.send(o.body instanceof Readable ? o.body : Readable.from(o.body));
        }
        reply.code(r.status);
        if (r.status === 204) return reply.send();
        if (r.produces) return reply.type(r.produces).send(out);
        const problem = checkResponse(op, out);
        if (problem)
          throw new BulwarkError(
            'internal_error',
            `response of ${op} does not match its schema: ${problem}`,
          );
        return reply.type('application/json').send(out);
      },
    });
  };
  const entries = Object.entries(ROUTES) as [OperationId, RouteDef][];
  for (const [op, r] of entries) if (!r.rawBody && !r.streamBody) register(app, op, r);
  // Ingest routes take the payload as raw bytes of any content type, in their own context so the
  // JSON parser of every other route is untouched.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const [op, r] of entries) if (r.rawBody) register(raw, op, r);
  });
  // Streamed uploads (firmware images): the parser leaves the request unread and the handler
  // passes it on as a stream; the service, not the body limit, caps its size.
  await app.register(async (streamed) => {
    streamed.removeAllContentTypeParsers();
    streamed.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    for (const [op, r] of entries) if (r.streamBody) register(streamed, op, r);
  });

  async function authenticate(req: FastifyRequest, r: RouteDef): Promise<void> {
    const ctx = req.bulwark;
    if (r.auth === 'none') return;
    if (r.auth === 'principal-or-device' && !/^Bearer /i.test(req.headers.authorization ?? '')) {
      r = { ...r, auth: 'device' };
    }
    if (r.auth === 'device' || r.auth === 'device-cert') {
      const byCert = await deviceFromTls(req);
      if (byCert) ctx.device = byCert;
      else if (r.auth === 'device' && /^Basic /i.test(req.headers.authorization ?? ''))
        ctx.device = await deviceFromKey(req);
      else
        throw new BulwarkError(
          'certificate_required',
          r.auth === 'device'
            ? 'present the device certificate (mutual TLS) or the device key (HTTP Basic: device id and key)'
            : 'present the device certificate (mutual TLS)',
        );
      return;
    }
    const h = req.headers.authorization;
    if (!h)
      throw new BulwarkError(
        'unauthenticated',
        'send an access token or API key as "Authorization: Bearer …"',
      );
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m?.[1])
      throw new BulwarkError(
        'unauthenticated',
        'the Authorization header must be "Bearer <token>"',
      );
    const bearer = m[1];
    ctx.principal = await s.auth.authenticate(bearer, ctx.source);
    ctx.reauthenticate = () => s.auth.authenticate(bearer, ctx.source);
    if (r.auth === 'user' && ctx.principal.kind !== 'user') {
      throw new BulwarkError('forbidden', 'this action is for users, not API keys');
    }
    if (r.permission && !ctx.principal.permissions.includes(r.permission)) {
      // A device route may be allowed by a scoped grant covering that device (decision 0046).
      const deviceId = (req.params as { id?: string } | undefined)?.id;
      if (r.deviceScoped && deviceId !== undefined)
        return s.deviceAccess.require(ctx.principal, deviceId, r.permission);
      throw new BulwarkError('forbidden', `this action needs the '${r.permission}' permission`, {
        extra: { permission: r.permission },
      });
    }
  }

  /** The device a request's certificate or HTTP Basic device key admits (the admission rule). */
  async function deviceFromKey(req: FastifyRequest) {
    const decoded = Buffer.from(
      (req.headers.authorization ?? '').slice(6).trim(),
      'base64',
    ).toString('utf8');
    const colon = decoded.indexOf(':');
    return admitted(
      await s.admission.admit({
        credential: {
          kind: 'device_key',
          deviceId: colon > 0 ? decoded.slice(0, colon) : '',
          secret: colon > 0 ? decoded.slice(colon + 1) : '',
        },
        transport: 'http',
        source: req.ip,
      }),
    );
  }

  async function deviceFromTls(req: FastifyRequest) {
    const socket = req.raw.socket as Partial<TLSSocket>;
    const peer = socket.getPeerCertificate?.(false);
    if (!peer || !peer.raw) return undefined;
    const org = peer.subject?.O;
    if (typeof org !== 'string')
      throw new BulwarkError('certificate_invalid', 'not a Bulwark device certificate');
    return admitted(
      await s.admission.admit({
        credential: { kind: 'certificate', der: peer.raw, claimedOrgId: org },
        transport: 'http',
        source: req.ip,
      }),
    );
  }

  if (opts.ddi) await registerDdiRoutes(app, opts.ddi);
  if (opts.lwm2mFirmware) registerLwm2mFirmwareRoutes(app, opts.lwm2mFirmware);
  app.get(`${PREFIX}/openapi.json`, async () => openApiDocument({ version: API_VERSION }));
  app.get(`${PREFIX}/asyncapi.json`, async () => asyncApiDocument({ version: API_VERSION }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await opts.ready().catch(() => false);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready' });
  });
  return app;
}

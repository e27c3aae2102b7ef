import { X509Certificate } from 'node:crypto';
import {
  BulwarkError,
  type CreateEndpointRequest,
  type CreateNotificationRuleRequest,
  type UpdateEndpointRequest,
  type UpdateNotificationRuleRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type {
  DeliveryRecord,
  DeliveryState,
  EmailSettings,
  EndpointSecrets,
  NotificationEndpointRecord,
  NotificationRuleRecord,
  WebhookSettings,
} from '../ports/notifications.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { SecretBox } from '../shared/secret-box.js';
import {
  DEFAULT_BREAKER_POLICY,
  breakerState,
  type BreakerPolicy,
  type BreakerState,
} from './policy.js';

/** The sealing context of an endpoint's secrets: a box cannot move to another endpoint. */
export const endpointSecretsContext = (orgId: string, id: string): string =>
  `notification-endpoint:${orgId}:${id}`;

/** Opens an endpoint's sealed secrets. */
export function openEndpointSecrets(
  box: SecretBox,
  e: NotificationEndpointRecord,
): EndpointSecrets {
  return JSON.parse(
    box.open(e.secretsSealed, endpointSecretsContext(e.orgId, e.id)).toString('utf8'),
  ) as EndpointSecrets;
}

/** A few hundred rules or endpoints per organization are plenty; more is a mistake or abuse. */
const MAX_PER_ORG = 200;

const invalidEndpoint = (why: string) => new BulwarkError('notification_endpoint_invalid', why);
const invalidRule = (why: string) => new BulwarkError('notification_rule_invalid', why);

/** Checks a webhook URL: https only, no user:password (the signing secret authenticates). */
function webhookOrigin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidEndpoint('the webhook url is not a URL');
  }
  if (u.protocol !== 'https:') throw invalidEndpoint('a webhook url must use https');
  if (u.username !== '' || u.password !== '')
    throw invalidEndpoint('a webhook url must not carry a user or password');
  return u.origin;
}

/** Checks that `pem` holds one or more certificates (the extra CAs of an endpoint). */
function checkPem(pem: string | null | undefined): string | null {
  if (pem === null || pem === undefined) return null;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw invalidEndpoint('caPem holds no PEM certificate');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      throw invalidEndpoint('caPem holds a certificate that does not parse');
    }
  }
  return blocks.join('\n') + '\n';
}

/**
 * Notification endpoints and routing rules (decision 0030), and the delivery queue's dead letters.
 * Secrets are sealed with the master key under the endpoint's context before they are stored, and
 * leave only towards the endpoint itself: views say whether they are set.
 */
export class NotificationService {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'notifications' | 'locations' | 'rules'>;
      clock: Clock;
      box: SecretBox;
      breaker?: BreakerPolicy;
    },
  ) {}

  /** An endpoint's circuit breaker now. */
  breakerOf(e: NotificationEndpointRecord): { state: BreakerState; openUntil: number | null } {
    const state = breakerState(e, this.d.clock.now(), this.d.breaker ?? DEFAULT_BREAKER_POLICY);
    return { state, openUntil: state === 'open' ? e.breakerOpenUntil : null };
  }

  listEndpoints(orgId: string): Promise<NotificationEndpointRecord[]> {
    return this.d.storage.notifications.listEndpoints(orgId);
  }

  async getEndpoint(orgId: string, id: string): Promise<NotificationEndpointRecord> {
    const e = await this.d.storage.notifications.getEndpoint(orgId, id);
    if (!e)
      throw new BulwarkError('not_found', 'no such notification endpoint in this organization');
    return e;
  }

  async createEndpoint(
    orgId: string,
    req: CreateEndpointRequest,
  ): Promise<NotificationEndpointRecord> {
    const existing = await this.d.storage.notifications.listEndpoints(orgId);
    if (existing.length >= MAX_PER_ORG)
      throw invalidEndpoint(`an organization has at most ${MAX_PER_ORG} endpoints`);
    if (existing.some((e) => e.name === req.name))
      throw new BulwarkError('conflict', 'an endpoint with this name already exists');
    const now = this.d.clock.now();
    const id = newId(now);
    const { settings, secrets } =
      req.kind === 'webhook'
        ? this.#webhook(req.url, req.secret, req.format ?? 'json', req.caPem)
        : this.#email({ ...req, username: req.username ?? null, password: req.password ?? null });
    const e: NotificationEndpointRecord = {
      id,
      orgId,
      name: req.name,
      settings,
      secretsSealed: this.#seal(orgId, id, secrets),
      enabled: req.enabled ?? true,
      consecutiveFailures: 0,
      breakerOpenUntil: 0,
      lastSuccessAt: null,
      lastFailureAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.storage.notifications.createEndpoint(e);
    return e;
  }

  async updateEndpoint(
    orgId: string,
    id: string,
    req: UpdateEndpointRequest,
  ): Promise<NotificationEndpointRecord> {
    const e = await this.getEndpoint(orgId, id);
    if (req.name !== undefined && req.name !== e.name) {
      const all = await this.d.storage.notifications.listEndpoints(orgId);
      if (all.some((x) => x.name === req.name))
        throw new BulwarkError('conflict', 'an endpoint with this name already exists');
    }
    const secrets = openEndpointSecrets(this.d.box, e);
    const webhookFields = ['url', 'secret', 'format'] as const;
    const emailFields = ['host', 'port', 'security', 'username', 'password', 'from', 'to'] as const;
    const foreign = (e.settings.kind === 'webhook' ? emailFields : webhookFields).filter(
      (f) => req[f] !== undefined,
    );
    if (foreign.length > 0)
      throw invalidEndpoint(`a ${e.settings.kind} endpoint has no ${foreign.join(', ')}`);
    let next: { settings: WebhookSettings | EmailSettings; secrets: EndpointSecrets };
    if (e.settings.kind === 'webhook' && secrets.kind === 'webhook') {
      next = this.#webhook(
        req.url ?? secrets.url,
        req.secret ?? secrets.secret,
        req.format ?? e.settings.format,
        req.caPem === undefined ? e.settings.caPem : req.caPem,
      );
    } else if (e.settings.kind === 'email' && secrets.kind === 'email') {
      const s = e.settings;
      next = this.#email({
        host: req.host ?? s.host,
        port: req.port ?? s.port,
        security: req.security ?? s.security,
        username: req.username === undefined ? s.username : req.username,
        password: req.password === undefined ? secrets.password : req.password,
        from: req.from ?? s.from,
        to: req.to ?? s.to,
        caPem: req.caPem === undefined ? s.caPem : req.caPem,
      });
    } else throw new Error('endpoint settings and secrets disagree');
    const updated = await this.d.storage.notifications.updateEndpoint(
      orgId,
      id,
      {
        name: req.name ?? e.name,
        settings: next.settings,
        secretsSealed: this.#seal(orgId, id, next.secrets),
        enabled: req.enabled ?? e.enabled,
      },
      this.d.clock.now(),
    );
    if (!updated)
      throw new BulwarkError('not_found', 'no such notification endpoint in this organization');
    return updated;
  }

  /** Deletes an endpoint that no rule routes or escalates to. */
  async deleteEndpoint(orgId: string, id: string): Promise<void> {
    await this.getEndpoint(orgId, id);
    const users = (await this.d.storage.notifications.listRules(orgId)).filter(
      (r) => r.endpointIds.includes(id) || (r.escalation?.endpointIds.includes(id) ?? false),
    );
    if (users.length > 0)
      throw new BulwarkError(
        'notification_endpoint_in_use',
        `rules still route to it: ${users.map((r) => r.name).join(', ')}`,
      );
    const hooks = await this.#telemetryRulesUsing(orgId, id);
    if (hooks.length > 0)
      throw new BulwarkError(
        'notification_endpoint_in_use',
        `rules on telemetry still send webhooks to it: ${hooks.join(', ')}`,
      );
    await this.d.storage.notifications.deleteEndpoint(orgId, id);
  }

  /** Queues a test message to an endpoint (sent by the delivery worker like any other). */
  async testEndpoint(orgId: string, id: string): Promise<DeliveryRecord> {
    await this.getEndpoint(orgId, id);
    const now = this.d.clock.now();
    const d: DeliveryRecord = {
      id: newId(now),
      orgId,
      endpointId: id,
      alertId: null,
      ruleId: null,
      event: 'test',
      payload: { type: 'test', organizationId: orgId, occurredAt: new Date(now).toISOString() },
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      deliveredAt: null,
    };
    await this.d.storage.notifications.enqueue([d]);
    return d;
  }

  listRules(orgId: string): Promise<NotificationRuleRecord[]> {
    return this.d.storage.notifications.listRules(orgId);
  }

  async getRule(orgId: string, id: string): Promise<NotificationRuleRecord> {
    const r = await this.d.storage.notifications.getRule(orgId, id);
    if (!r) throw new BulwarkError('not_found', 'no such notification rule in this organization');
    return r;
  }

  async createRule(
    orgId: string,
    req: CreateNotificationRuleRequest,
  ): Promise<NotificationRuleRecord> {
    const all = await this.d.storage.notifications.listRules(orgId);
    if (all.length >= MAX_PER_ORG)
      throw invalidRule(`an organization has at most ${MAX_PER_ORG} rules`);
    if (all.some((r) => r.name === req.name))
      throw new BulwarkError('conflict', 'a rule with this name already exists');
    const now = this.d.clock.now();
    const r: NotificationRuleRecord = {
      id: newId(now),
      orgId,
      name: req.name,
      enabled: req.enabled ?? true,
      locationId: req.locationId ?? null,
      minSeverity: req.minSeverity ?? 'info',
      kinds: [...new Set(req.kinds ?? [])],
      endpointIds: [...new Set(req.endpointIds)],
      notifyResolved: req.notifyResolved ?? false,
      escalation: req.escalation
        ? { ...req.escalation, endpointIds: [...new Set(req.escalation.endpointIds)] }
        : null,
      createdAt: now,
      updatedAt: now,
    };
    await this.#checkRule(r);
    await this.d.storage.notifications.createRule(r);
    return r;
  }

  async updateRule(
    orgId: string,
    id: string,
    req: UpdateNotificationRuleRequest,
  ): Promise<NotificationRuleRecord> {
    const before = await this.getRule(orgId, id);
    if (req.name !== undefined && req.name !== before.name) {
      const all = await this.d.storage.notifications.listRules(orgId);
      if (all.some((r) => r.name === req.name))
        throw new BulwarkError('conflict', 'a rule with this name already exists');
    }
    const r: NotificationRuleRecord = {
      ...before,
      ...(req.name !== undefined ? { name: req.name } : {}),
      ...(req.enabled !== undefined ? { enabled: req.enabled } : {}),
      ...(req.locationId !== undefined ? { locationId: req.locationId } : {}),
      ...(req.minSeverity !== undefined ? { minSeverity: req.minSeverity } : {}),
      ...(req.kinds !== undefined ? { kinds: [...new Set(req.kinds)] } : {}),
      ...(req.endpointIds !== undefined ? { endpointIds: [...new Set(req.endpointIds)] } : {}),
      ...(req.notifyResolved !== undefined ? { notifyResolved: req.notifyResolved } : {}),
      ...(req.escalation !== undefined ? { escalation: req.escalation } : {}),
      updatedAt: this.d.clock.now(),
    };
    await this.#checkRule(r);
    if (!(await this.d.storage.notifications.updateRule(r)))
      throw new BulwarkError('not_found', 'no such notification rule in this organization');
    return r;
  }

  async deleteRule(orgId: string, id: string): Promise<void> {
    if (!(await this.d.storage.notifications.deleteRule(orgId, id)))
      throw new BulwarkError('not_found', 'no such notification rule in this organization');
  }

  listDeliveries(
    orgId: string,
    filter: { state?: DeliveryState; endpointId?: string; alertId?: string },
    page: PageRequest,
  ): Promise<Page<DeliveryRecord>> {
    return this.d.storage.notifications.listDeliveries(orgId, filter, page);
  }

  /** Queues a dead-lettered delivery again, its attempts counted afresh. */
  async redrive(orgId: string, id: string): Promise<DeliveryRecord> {
    const d = await this.d.storage.notifications.getDelivery(orgId, id);
    if (!d) throw new BulwarkError('not_found', 'no such delivery in this organization');
    const again = await this.d.storage.notifications.redrive(orgId, id, this.d.clock.now());
    if (!again) throw new BulwarkError('delivery_not_dead', `the delivery is ${d.state}`);
    return again;
  }

  /** Names of the organization's rules on telemetry with a webhook action to `endpointId`. */
  async #telemetryRulesUsing(orgId: string, endpointId: string): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = null;
    // Bounded: an organization has at most RULE_MAX_PER_ORG rules; 100 pages is far past that.
    for (let i = 0; i < 100; i++) {
      const page = await this.d.storage.rules.list(orgId, { limit: 200, cursor });
      for (const r of page.items)
        if (r.actions.some((a) => a.type === 'webhook' && a.endpointId === endpointId))
          names.push(r.name);
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    return names;
  }

  async #checkRule(r: NotificationRuleRecord): Promise<void> {
    const endpoints = new Set(
      (await this.d.storage.notifications.listEndpoints(r.orgId)).map((e) => e.id),
    );
    const unknown = [...r.endpointIds, ...(r.escalation?.endpointIds ?? [])].filter(
      (id) => !endpoints.has(id),
    );
    if (unknown.length > 0)
      throw invalidRule(
        `no such endpoint in this organization: ${[...new Set(unknown)].join(', ')}`,
      );
    if (r.locationId !== null && !(await this.d.storage.locations.get(r.orgId, r.locationId)))
      throw invalidRule('no such location in this organization');
  }

  #webhook(
    url: string,
    secret: string,
    format: WebhookSettings['format'],
    caPem: string | null | undefined,
  ): { settings: WebhookSettings; secrets: EndpointSecrets } {
    return {
      settings: { kind: 'webhook', format, origin: webhookOrigin(url), caPem: checkPem(caPem) },
      secrets: { kind: 'webhook', url, secret },
    };
  }

  #email(
    s: Omit<EmailSettings, 'kind' | 'caPem' | 'passwordSet'> & {
      password: string | null;
      caPem?: string | null;
    },
  ): {
    settings: EmailSettings;
    secrets: EndpointSecrets;
  } {
    // A password over a plain connection would cross the network readable.
    if (s.password !== null && s.security === 'none')
      throw invalidEndpoint('an SMTP password needs security starttls or tls');
    if (s.password !== null && s.username === null)
      throw invalidEndpoint('an SMTP password needs a username');
    return {
      settings: {
        kind: 'email',
        host: s.host,
        port: s.port,
        security: s.security,
        username: s.username,
        passwordSet: s.password !== null,
        from: s.from,
        to: [...new Set(s.to)],
        caPem: checkPem(s.caPem),
      },
      secrets: { kind: 'email', password: s.password },
    };
  }

  #seal(orgId: string, id: string, secrets: EndpointSecrets): string {
    return this.d.box.seal(JSON.stringify(secrets), endpointSecretsContext(orgId, id));
  }
}

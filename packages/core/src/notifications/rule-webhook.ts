/**
 * A rule on telemetry's `webhook` action (decision 0035, amendment): one `rule.fired` delivery to a
 * webhook endpoint of the organization, on the same persisted queue as alerts' notifications — so
 * it is signed, retried with backoff, counted against the endpoint's breaker and dead-lettered
 * like them (decision 0030). Maintenance windows and mutes are about alerts: they do not hold it.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { DeliveryRecord, NotificationStore } from '../ports/notifications.js';
import { newId } from '../shared/ids.js';
import { ruleFiredPayload, type RuleFiredFacts } from './payload.js';

/** Checks that `endpointId` is a webhook endpoint of the organization (when a rule is saved). */
export async function checkRuleWebhookEndpoint(
  store: Pick<NotificationStore, 'getEndpoint'>,
  orgId: string,
  endpointId: string,
): Promise<string | null> {
  const e = await store.getEndpoint(orgId, endpointId);
  if (!e) return 'no such notification endpoint in this organization';
  if (e.settings.kind !== 'webhook') return `the endpoint ${e.name} is not a webhook`;
  return null;
}

/** Queues the delivery; throws (a message safe to audit) when the endpoint cannot take it. */
export async function queueRuleWebhook(
  store: Pick<NotificationStore, 'getEndpoint' | 'enqueue'>,
  endpointId: string,
  facts: RuleFiredFacts,
): Promise<DeliveryRecord> {
  const e = await store.getEndpoint(facts.orgId, endpointId);
  if (!e) throw new BulwarkError('not_found', 'the notification endpoint is gone');
  if (e.settings.kind !== 'webhook')
    throw new BulwarkError('rule_invalid', 'the notification endpoint is not a webhook');
  // A disabled endpoint is never claimed: queuing would only pile up rows.
  if (!e.enabled) throw new BulwarkError('conflict', 'the notification endpoint is disabled');
  const now = facts.at;
  const d: DeliveryRecord = {
    id: newId(now),
    orgId: facts.orgId,
    endpointId,
    alertId: null,
    ruleId: facts.rule.id,
    event: 'rule.fired',
    payload: ruleFiredPayload(facts),
    state: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
  };
  await store.enqueue([d]);
  return d;
}

/**
 * The pure rules of notifications (decision 0030): backoff, the circuit breaker, webhook
 * signatures, routing by location subtree × severity × kind with escalation, and the payloads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_BREAKER_POLICY,
  DEFAULT_RETRY_POLICY,
  breakerOpenUntil,
  breakerState,
  locationPath,
  planDeliveries,
  retryDelay,
  signWebhook,
  verifyWebhook,
  webhookBody,
  type DeliveryRecord,
  type NotificationRuleRecord,
} from '@bulwark/core';

const rule = (over: Partial<NotificationRuleRecord> = {}): NotificationRuleRecord => ({
  id: 'r1',
  orgId: 'o',
  name: 'r',
  enabled: true,
  locationId: null,
  minSeverity: 'info',
  kinds: [],
  endpointIds: ['e1'],
  notifyResolved: false,
  escalation: null,
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

describe('retry backoff', () => {
  it('doubles from the base, is capped, and jitter only adds up to its fraction', () => {
    const p = { ...DEFAULT_RETRY_POLICY, jitter: 0 };
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => retryDelay(n, p)),
      [5_000, 10_000, 20_000, 40_000],
    );
    assert.equal(retryDelay(30, p), p.maxMs);
    const j = { ...DEFAULT_RETRY_POLICY, jitter: 0.2 };
    assert.equal(
      retryDelay(2, j, () => 0),
      10_000,
    );
    assert.equal(
      retryDelay(2, j, () => 0.999),
      Math.round(10_000 * 1.1998),
    );
    assert.equal(
      retryDelay(30, j, () => 0.999),
      j.maxMs,
      'the cap holds with jitter',
    );
  });
});

describe('circuit breaker', () => {
  const p = DEFAULT_BREAKER_POLICY;
  it('stays closed below the threshold, opens at it, and opens longer after each failed probe', () => {
    assert.equal(breakerOpenUntil(p.threshold - 1, 1000, p), null);
    assert.equal(breakerOpenUntil(p.threshold, 1000, p), 1000 + p.openMs);
    assert.equal(breakerOpenUntil(p.threshold + 1, 1000, p), 1000 + 2 * p.openMs);
    assert.equal(breakerOpenUntil(p.threshold + 40, 1000, p), 1000 + p.maxOpenMs);
  });
  it('closed → open → half-open as time passes', () => {
    const now = 10_000;
    assert.equal(breakerState({ consecutiveFailures: 2, breakerOpenUntil: 0 }, now, p), 'closed');
    assert.equal(
      breakerState({ consecutiveFailures: p.threshold, breakerOpenUntil: now + 1 }, now, p),
      'open',
    );
    assert.equal(
      breakerState({ consecutiveFailures: p.threshold, breakerOpenUntil: now }, now, p),
      'half_open',
    );
  });
});

describe('webhook signatures', () => {
  const secret = 'a-secret-of-the-endpoint';
  const body = '{"id":"d1","type":"alert.opened"}';
  it('a receiver verifies the exact body, secret and a fresh timestamp', () => {
    const h = signWebhook(secret, body, 1_700_000_000);
    assert.match(h, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.equal(verifyWebhook(h, body, secret, 1_700_000_100), true);
    assert.equal(verifyWebhook(h, body + ' ', secret, 1_700_000_100), false, 'body changed');
    assert.equal(verifyWebhook(h, body, 'another secret!!', 1_700_000_100), false);
    assert.equal(verifyWebhook(h, body, secret, 1_700_000_301), false, 'a replay of an old one');
    assert.equal(
      verifyWebhook(h.replace('t=1700000000', 't=1700000200'), body, secret, 1_700_000_200),
      false,
      'timestamp moved',
    );
    assert.equal(verifyWebhook('v1=abc', body, secret, 1_700_000_000), false, 'no timestamp');
    assert.equal(verifyWebhook('garbage', body, secret, 1_700_000_000), false);
  });
  it('several v1 values (secret rotation): one matching is enough', () => {
    const h = signWebhook(secret, body, 5);
    const rotated = `${h},v1=${'0'.repeat(64)}`;
    assert.equal(verifyWebhook(rotated, body, secret, 5), true);
  });
});

describe('routing', () => {
  // site s1 > building b1 > floor f1; site s2.
  const parents = new Map<string, string | null>([
    ['s1', null],
    ['b1', 's1'],
    ['f1', 'b1'],
    ['s2', null],
  ]);
  const alert = { kind: 'device_offline', severity: 'high' as const, openedAt: 1_000 };

  it('a rule on a location covers devices there and below, not elsewhere', () => {
    assert.deepEqual(locationPath('f1', parents), ['f1', 'b1', 's1']);
    const r = rule({ locationId: 'b1' });
    const at = (loc: string | null) =>
      planDeliveries(alert, 'alert.opened', [r], locationPath(loc, parents), 5).length;
    assert.equal(at('f1'), 1);
    assert.equal(at('b1'), 1);
    assert.equal(at('s1'), 0, 'the parent is not below it');
    assert.equal(at('s2'), 0);
    assert.equal(at(null), 0, 'a device without a location');
    assert.equal(
      planDeliveries(alert, 'alert.opened', [rule()], [], 5).length,
      1,
      'an organization-wide rule matches a fleet alert',
    );
  });

  it('severity is a minimum; kinds narrow; disabled rules match nothing', () => {
    const plan = (r: NotificationRuleRecord) => planDeliveries(alert, 'alert.opened', [r], [], 5);
    assert.equal(plan(rule({ minSeverity: 'high' })).length, 1);
    assert.equal(plan(rule({ minSeverity: 'critical' })).length, 0);
    assert.equal(plan(rule({ kinds: ['auth_bruteforce'] })).length, 0);
    assert.equal(plan(rule({ kinds: ['auth_bruteforce', 'device_offline'] })).length, 1);
    assert.equal(plan(rule({ enabled: false })).length, 0);
  });

  it('escalation is planned after its delay from the opening; one delivery per endpoint and event', () => {
    const r1 = rule({
      id: 'r1',
      endpointIds: ['e1', 'e2'],
      escalation: { afterMinutes: 15, endpointIds: ['pager'] },
    });
    const r2 = rule({
      id: 'r2',
      endpointIds: ['e2'],
      escalation: { afterMinutes: 5, endpointIds: ['pager'] },
    });
    const planned = planDeliveries(alert, 'alert.opened', [r1, r2], [], 5);
    assert.deepEqual(planned.map((p) => [p.event, p.endpointId, p.dueAt]).sort(), [
      ['alert.escalated', 'pager', 1_000 + 5 * 60_000],
      ['alert.opened', 'e1', 5],
      ['alert.opened', 'e2', 5],
    ]);
    assert.deepEqual(
      planDeliveries(alert, 'alert.resolved', [r1], [], 5),
      [],
      'resolutions only on request',
    );
    assert.deepEqual(
      planDeliveries(alert, 'alert.resolved', [rule({ notifyResolved: true })], [], 9).map((p) => [
        p.event,
        p.dueAt,
      ]),
      [['alert.resolved', 9]],
    );
  });
});

describe('payloads', () => {
  const d: DeliveryRecord = {
    id: 'd1',
    orgId: 'o',
    endpointId: 'e',
    alertId: 'a',
    ruleId: 'r',
    event: 'alert.opened',
    payload: {
      type: 'alert.opened',
      alert: { id: 'a', title: '<b>&x', severity: 'high', kind: 'device_offline', deviceId: null },
    },
    state: 'pending',
    attempts: 0,
    nextAttemptAt: 0,
    lastError: null,
    createdAt: 0,
    updatedAt: 0,
    deliveredAt: null,
  };
  it('JSON carries the delivery id; Slack text is escaped mrkdwn', () => {
    assert.equal((JSON.parse(webhookBody(d, 'json')) as { id: string }).id, 'd1');
    const slack = JSON.parse(webhookBody(d, 'slack')) as {
      text: string;
      blocks: { text: { text: string } }[];
    };
    assert.equal(slack.text, '[HIGH] <b>&x - opened');
    assert.match(slack.blocks[0]!.text.text, /&lt;b&gt;&amp;x/);
  });
});

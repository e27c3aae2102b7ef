/**
 * Issue 14 items 4–5 end to end (decision 0030), on the real hub: an alert about a device in a
 * location subtree is routed by a rule to a real HTTPS receiver (trusting the endpoint's own CA),
 * which verifies the signature, and to a real SMTP server (aiosmtpd); an escalation reaches a
 * second target only while the alert stays unacknowledged; a failing receiver is retried with
 * backoff, its breaker opens, the delivery is dead-lettered and re-driven. The hub's clock is a
 * fake one stepped by the test, so backoff and escalation take no wall time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyWebhook } from '@bulwark/core';
import { eventually, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import {
  startHttpsReceiver,
  startSmtpSink,
  type HttpsReceiver,
  type SmtpSink,
} from './notify-fixtures.js';

const SECRET = 'whsec-test-0123456789abcdef';

/** Polls `f` until it returns a value (10 s at most). */

describe('alerts → notifications, end to end', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let smtp: SmtpSink;
  let rx: HttpsReceiver;
  let ids: { webhook: string; email: string; pager: string; device: string; site: string };

  before(async () => {
    [smtp, rx] = await Promise.all([startSmtpSink(), startHttpsReceiver()]);
    t = await startTestHub();
    s = await setupOwner(t);
    const site = await s.owner.locations.create({ kind: 'site', name: 'Plant' });
    const building = await s.owner.locations.create({
      kind: 'building',
      name: 'Hall',
      parentId: site.id,
    });
    const device = await s.owner.devices.create({
      name: 'press-1',
      type: 'press',
      locationId: building.id,
    });
    const api = s.owner.notifications;
    const webhook = await api.endpoints.create({
      kind: 'webhook',
      name: 'soc',
      url: `${rx.url}/hook?token=url-secret-token`,
      secret: SECRET,
      caPem: rx.caPem,
    });
    const pager = await api.endpoints.create({
      kind: 'webhook',
      name: 'pager',
      url: `${rx.url}/pager`,
      secret: SECRET,
      format: 'slack',
      caPem: rx.caPem,
    });
    const email = await api.endpoints.create({
      kind: 'email',
      name: 'ops mail',
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      from: 'bulwark@example.com',
      to: ['ops@example.com'],
    });
    await api.rules.create({
      name: 'plant, medium and up',
      locationId: site.id,
      minSeverity: 'medium',
      endpointIds: [webhook.id, email.id],
      escalation: { afterMinutes: 15, endpointIds: [pager.id] },
    });
    ids = {
      webhook: webhook.id,
      email: email.id,
      pager: pager.id,
      device: device.id,
      site: site.id,
    };
  });
  after(async () => {
    await t?.close();
    await Promise.all([smtp?.close(), rx?.close()]);
  });

  it('secrets are sealed: never in a view, the origin only', async () => {
    const e = await s.owner.notifications.endpoints.get(ids.webhook);
    assert.equal(e.webhook?.origin, rx.url);
    assert.equal(e.webhook?.secretSet, true);
    const text = JSON.stringify(await s.owner.notifications.endpoints.list());
    assert.equal(text.includes(SECRET), false);
    assert.equal(text.includes('url-secret-token'), false);
  });

  it('an alert in the subtree reaches the HTTPS receiver (signed) and the SMTP server; escalation after 15 min', async () => {
    const alert = await t.hub.services.alerts.open(s.orgId, ids.device, 'device_offline', {
      reason: 'socket_closed',
    });
    assert.ok(alert);
    await t.hub.notificationRunner.tick();
    const hook = await eventually(
      () => rx.received.find((r) => r.path.startsWith('/hook')),
      'the webhook',
    );
    assert.equal(hook.path, '/hook?token=url-secret-token');
    const sig = String(hook.headers['bulwark-signature']);
    // The receiver's check: the raw body, the shared secret, a fresh timestamp (the hub's clock).
    assert.equal(verifyWebhook(sig, hook.body, SECRET, Math.floor(t.clock.now() / 1000)), true);
    assert.equal(
      verifyWebhook(sig, hook.body, SECRET, Math.floor(t.clock.now() / 1000) + 3600),
      false,
    );
    const body = JSON.parse(hook.body) as {
      id: string;
      type: string;
      alert: { id: string; severity: string };
    };
    assert.equal(body.type, 'alert.opened');
    assert.equal(body.alert.id, alert.id);
    assert.equal(body.alert.severity, 'medium');
    assert.equal(hook.headers['bulwark-delivery'], body.id);

    const mail = await eventually(() => smtp.messages()[0], 'the email');
    assert.match(mail, /X-Rcpt: ops@example.com/);
    assert.match(mail, /Subject: \[Bulwark\] \[MEDIUM\] Device offline/);
    assert.match(mail, new RegExp(alert.id));

    // A repeat of the same source adds to the alert, and sends nothing new.
    assert.equal(
      await t.hub.services.alerts.open(s.orgId, ids.device, 'device_offline', {}),
      undefined,
    );
    await t.hub.notificationRunner.tick();
    assert.equal(rx.received.filter((r) => r.path.startsWith('/hook')).length, 1);

    // Unacknowledged after 15 minutes: the pager hears of it (Slack format).
    assert.equal(
      rx.received.some((r) => r.path === '/pager'),
      false,
    );
    t.clock.advance(16 * 60_000);
    await t.hub.notificationRunner.tick();
    const page = await eventually(
      () => rx.received.find((r) => r.path === '/pager'),
      'the escalation',
    );
    const slack = JSON.parse(page.body) as { text: string };
    assert.match(slack.text, /^\[MEDIUM\] .* - escalated/);
    assert.equal(page.headers['bulwark-event'], 'alert.escalated');
  });

  it('an acknowledged alert does not escalate; a muted one waits', async () => {
    const before = rx.received.filter((r) => r.path === '/pager').length;
    const a = await t.hub.services.alerts.open(s.orgId, ids.device, 'message_flood', {
      metric: 'messages_per_minute',
      window: 300,
      expected: { min: 0, max: 120 },
      observed: 5400,
    });
    assert.ok(a);
    await t.hub.notificationRunner.tick();
    await s.owner.alerts.acknowledge(a.id);
    const b = await t.hub.services.alerts.open(s.orgId, ids.device, 'disallowed_connection', {
      destination: '203.0.113.9:4444',
    });
    assert.ok(b);
    await t.hub.notificationRunner.tick();
    await s.owner.alerts.mute(b.id, 60, 'maintenance');
    t.clock.advance(16 * 60_000);
    await t.hub.notificationRunner.tick();
    assert.equal(
      rx.received.filter((r) => r.path === '/pager').length,
      before,
      `neither escalated: ${JSON.stringify(rx.received.filter((r) => r.path === '/pager').map((r) => r.body))}`,
    );
    const escalations = await s.owner.notifications.deliveries.list({ alertId: a.id });
    assert.deepEqual(
      escalations.items.filter((d) => d.event === 'alert.escalated').map((d) => d.state),
      ['canceled'],
    );
    // The mute ends: b, still unacknowledged, escalates then.
    t.clock.advance(45 * 60_000);
    await t.hub.notificationRunner.tick();
    await eventually(
      () =>
        rx.received.filter((r) => r.path === '/pager').length === before + 1 ? true : undefined,
      'the escalation after the mute',
    );
  });

  it('a failing receiver: retries with backoff, the breaker opens, dead letter, re-drive', async () => {
    rx.status.set('/broken', 500);
    const api = s.owner.notifications;
    const broken = await api.endpoints.create({
      kind: 'webhook',
      name: 'broken',
      url: `${rx.url}/broken`,
      secret: SECRET,
      caPem: rx.caPem,
    });
    const test = await api.endpoints.test(broken.id);
    assert.equal(test.state, 'pending');
    const hits = () => rx.received.filter((r) => r.path === '/broken').length;
    await t.hub.notificationRunner.tick();
    let d = (await api.deliveries.list({ endpointId: broken.id })).items[0]!;
    assert.equal(d.attempts, 1);
    assert.equal(d.state, 'pending');
    assert.match(d.lastError ?? '', /HTTP 500/);
    // Backoff: not again before the delay (5 s, plus up to 20 %).
    t.clock.advance(4_000);
    await t.hub.notificationRunner.tick();
    assert.equal(hits(), 1, 'not before the backoff');
    let breakerOpened = false;
    for (let i = 0; i < 40 && d.state === 'pending'; i++) {
      t.clock.advance(16 * 60_000);
      await t.hub.notificationRunner.tick();
      d = (await api.deliveries.list({ endpointId: broken.id })).items[0]!;
      const e = await api.endpoints.get(broken.id);
      if (e.breaker.state === 'open') breakerOpened = true;
    }
    assert.equal(d.state, 'dead');
    assert.equal(d.attempts, 8);
    assert.equal(hits(), 8, 'each attempt reached the receiver once');
    assert.ok(breakerOpened, 'the breaker opened after 5 failures in a row');
    const e = await api.endpoints.get(broken.id);
    assert.equal(e.breaker.consecutiveFailures, 8);
    // While open, nothing is sent: a new test waits.
    const dead = await api.deliveries.list({ state: 'dead' });
    assert.deepEqual(
      dead.items.map((x) => x.id),
      [d.id],
    );

    // The receiver is fixed; the dead letter is re-driven and delivered (the half-open probe).
    rx.status.delete('/broken');
    const again = await api.deliveries.redrive(d.id);
    assert.equal(again.state, 'pending');
    assert.equal(again.attempts, 0);
    t.clock.advance(16 * 60_000);
    await t.hub.notificationRunner.tick();
    d = (await api.deliveries.list({ endpointId: broken.id })).items[0]!;
    assert.equal(d.state, 'delivered');
    assert.equal((await api.endpoints.get(broken.id)).breaker.state, 'closed');
    await rejectsCode(api.deliveries.redrive(d.id), 'delivery_not_dead');
    // The attempts are counted by outcome for Prometheus.
    const { key } = await s.owner.apiKeys.create({ name: 'prom', permissions: ['metrics:read'] });
    const res = await t.fetchWith()(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const text = await res.text();
    for (const outcome of ['delivered', 'retried', 'dead'])
      assert.match(
        text,
        new RegExp(`bulwark_notification_attempts\\{outcome="${outcome}"\\} [1-9]`),
      );
  });

  it('permissions, tenancy and the audit trail', async () => {
    const { key: viewer } = await s.owner.apiKeys.create({
      name: 'viewer',
      permissions: ['devices:read'],
    });
    const v = t.client(viewer);
    const [a] = (await v.alerts.list({ state: 'active' })).items;
    assert.ok(a, 'a reader lists alerts');
    await rejectsCode(v.alerts.acknowledge(a.id), 'forbidden');
    await rejectsCode(v.alerts.resolve(a.id), 'forbidden');
    await rejectsCode(v.notifications.endpoints.list(), 'forbidden');
    await rejectsCode(v.notifications.deliveries.list({ state: 'dead' }), 'forbidden');
    // devices:manage handles alerts but may not touch notification settings.
    const { key: operator } = await s.owner.apiKeys.create({
      name: 'operator',
      permissions: ['devices:read', 'devices:manage'],
    });
    await rejectsCode(t.client(operator).notifications.rules.list(), 'forbidden');

    // Another organization's alert answers 404 to every verb.
    const other = await s.owner.orgs.create({ name: 'Other' });
    const foreign = await t.hub.services.alerts.open(other.id, null, 'auth_bruteforce', {
      source: '198.51.100.7',
    });
    assert.ok(foreign);
    for (const call of [
      () => s.api.alerts.get(foreign.id),
      () => s.owner.alerts.acknowledge(foreign.id),
      () => s.owner.alerts.resolve(foreign.id),
      () => s.owner.alerts.assign(foreign.id, null),
      () => s.owner.alerts.comment(foreign.id, 'x'),
      () => s.owner.alerts.mute(foreign.id, 5),
    ])
      await rejectsCode(call(), 'not_found');

    // Bad input changes nothing.
    const bad = await raw(
      t,
      'POST',
      '/notifications/endpoints',
      { kind: 'webhook', name: 'plain', url: 'http://127.0.0.1/x', secret: SECRET },
      s.tokens.accessToken,
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.json['code'], 'notification_endpoint_invalid');
    await rejectsCode(
      s.owner.notifications.endpoints.delete(ids.webhook),
      'notification_endpoint_in_use',
    );

    // Every change is in the audit log, and no secret is.
    const audit = await s.api.audit.list({ limit: 200 });
    const actions = new Set(audit.items.map((x) => x.action));
    for (const op of [
      'acknowledgeAlert',
      'muteAlert',
      'createNotificationEndpoint',
      'createNotificationRule',
      'redriveNotificationDelivery',
    ])
      assert.ok(actions.has(op), `audited: ${op}`);
    const text = JSON.stringify(audit.items);
    assert.equal(text.includes(SECRET), false);
    assert.equal(text.includes('url-secret-token'), false);
  });
});

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

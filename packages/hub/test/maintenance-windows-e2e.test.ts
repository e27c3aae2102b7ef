/**
 * Maintenance windows end to end (decision 0030, amendment), on the real hub with a real HTTPS
 * receiver and a real SMTP server (aiosmtpd): during a window on a location subtree an alert there
 * is recorded but its notifications and escalation are held back, while an alert elsewhere goes
 * out at once; when the window ends the held ones are sent (the alert is still active). An alert
 * that resolves during a window has its held notifications dropped, its resolution too. Deleting
 * a window releases what it held within a minute. The hub's clock is a fake one stepped by the
 * test.
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

const SECRET = 'whsec-window-0123456789abcdef';

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

describe('maintenance windows, end to end', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let smtp: SmtpSink;
  let rx: HttpsReceiver;
  let ids: { site: string; press: string; truck: string };

  /** The webhook requests (path prefix) about one alert, as parsed bodies. */
  const hooksAbout = (prefix: string, alertId: string) =>
    rx.received
      .filter((r) => r.path.startsWith(prefix))
      .map((r) => ({ r, body: JSON.parse(r.body) as { type: string; alert: { id: string } } }))
      .filter((x) => x.body.alert.id === alertId);
  const mailsAbout = (alertId: string) => smtp.messages().filter((m) => m.includes(alertId));
  const deliveriesOf = async (alertId: string) =>
    (await s.owner.notifications.deliveries.list({ alertId, limit: 50 })).items;
  const iso = (ms: number) => new Date(ms).toISOString();

  before(async () => {
    [smtp, rx] = await Promise.all([startSmtpSink(), startHttpsReceiver()]);
    t = await startTestHub();
    s = await setupOwner(t);
    const site = await s.owner.locations.create({ kind: 'site', name: 'Plant' });
    const hall = await s.owner.locations.create({
      kind: 'building',
      name: 'Hall',
      parentId: site.id,
    });
    const depot = await s.owner.locations.create({ kind: 'site', name: 'Depot' });
    const press = await s.owner.devices.create({
      name: 'press-1',
      type: 'press',
      locationId: hall.id,
    });
    const truck = await s.owner.devices.create({
      name: 'truck-1',
      type: 'truck',
      locationId: depot.id,
    });
    const api = s.owner.notifications;
    const hook = await api.endpoints.create({
      kind: 'webhook',
      name: 'soc',
      url: `${rx.url}/hook`,
      secret: SECRET,
      caPem: rx.caPem,
    });
    const pager = await api.endpoints.create({
      kind: 'webhook',
      name: 'pager',
      url: `${rx.url}/pager`,
      secret: SECRET,
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
      name: 'everything medium and up',
      minSeverity: 'medium',
      endpointIds: [hook.id, email.id],
      notifyResolved: true,
      escalation: { afterMinutes: 15, endpointIds: [pager.id] },
    });
    ids = { site: site.id, press: press.id, truck: truck.id };
  });
  after(async () => {
    await t?.close();
    await Promise.all([smtp?.close(), rx?.close()]);
  });

  it('a window on a site holds its alerts’ notifications and escalation, not others’; at its end the held ones are sent', async () => {
    const w = await s.owner.notifications.windows.create({
      locationId: ids.site,
      endsAt: iso(t.clock.now() + 60 * 60_000),
      reason: 'press line retooling',
    });
    assert.equal(w.status, 'active');
    const inside = await t.hub.services.alerts.open(s.orgId, ids.press, 'device_offline', {
      reason: 'socket_closed',
    });
    const outside = await t.hub.services.alerts.open(s.orgId, ids.truck, 'device_offline', {
      reason: 'socket_closed',
    });
    assert.ok(inside && outside);
    await t.hub.notificationRunner.tick();
    // The alert outside the window goes out at once, to both receivers.
    await eventually(() => hooksAbout('/hook', outside.id)[0], 'the webhook of the truck');
    await eventually(() => mailsAbout(outside.id)[0], 'the email of the truck');
    // The one inside is recorded and listed, its deliveries pending and marked held.
    assert.equal((await s.owner.alerts.get(inside.id)).state, 'open');
    const held = await deliveriesOf(inside.id);
    assert.equal(held.length, 3, 'opened ×2 and the escalation are queued');
    for (const d of held) {
      assert.equal(d.state, 'pending');
      if (d.event === 'alert.opened')
        assert.match(d.lastError ?? '', /^held back: maintenance window/);
    }
    // The escalation comes due inside the window: held too (the truck's goes out).
    t.clock.advance(16 * 60_000);
    await t.hub.notificationRunner.tick();
    await eventually(() => hooksAbout('/pager', outside.id)[0], 'the truck escalation');
    await t.hub.notificationRunner.tick();
    assert.equal(hooksAbout('/hook', inside.id).length, 0);
    assert.equal(hooksAbout('/pager', inside.id).length, 0);
    assert.equal(mailsAbout(inside.id).length, 0);

    // The window ends with the alert still open: everything held is sent, signed.
    t.clock.advance(45 * 60_000);
    await t.hub.notificationRunner.tick();
    const opened = await eventually(() => hooksAbout('/hook', inside.id)[0], 'the held webhook');
    assert.equal(opened.body.type, 'alert.opened');
    assert.equal(
      verifyWebhook(
        String(opened.r.headers['bulwark-signature']),
        opened.r.body,
        SECRET,
        Math.floor(t.clock.now() / 1000),
      ),
      true,
    );
    await eventually(() => mailsAbout(inside.id)[0], 'the held email');
    const esc = await eventually(() => hooksAbout('/pager', inside.id)[0], 'the held escalation');
    assert.equal(esc.body.type, 'alert.escalated');
    assert.deepEqual(
      (await deliveriesOf(inside.id)).map((d) => d.state),
      ['delivered', 'delivered', 'delivered'],
    );
    assert.equal(
      (await s.owner.notifications.windows.get(w.id)).status,
      'ended',
      'it is over and shown so',
    );
    assert.equal((await s.owner.notifications.windows.list()).length, 0);
    assert.equal((await s.owner.notifications.windows.list({ includeEnded: true })).length, 1);
  });

  it('an alert that resolves during a window: its held notifications and its resolution are dropped', async () => {
    await s.owner.notifications.windows.create({
      kinds: ['message_flood'],
      endsAt: iso(t.clock.now() + 30 * 60_000),
      reason: 'load test of the depot',
    });
    const { alert } = await t.hub.services.alerts.raise({
      orgId: s.orgId,
      deviceId: ids.truck,
      kind: 'message_flood',
      severity: 'high',
      title: 'Message flood',
    });
    await t.hub.notificationRunner.tick();
    await s.owner.alerts.resolve(alert.id);
    await t.hub.notificationRunner.tick();
    // The resolution is dropped at once; the opening waits for the window's end.
    let ds = await deliveriesOf(alert.id);
    const resolved = ds.filter((d) => d.event === 'alert.resolved');
    assert.equal(resolved.length, 2);
    for (const d of resolved) {
      assert.equal(d.state, 'canceled');
      assert.match(d.lastError ?? '', /^dropped: maintenance window/);
    }
    assert.ok(ds.filter((d) => d.event === 'alert.opened').every((d) => d.state === 'pending'));
    t.clock.advance(31 * 60_000);
    await t.hub.notificationRunner.tick();
    ds = await deliveriesOf(alert.id);
    assert.equal(ds.length, 5);
    for (const d of ds) assert.equal(d.state, 'canceled', `${d.event}: ${d.lastError}`);
    assert.ok(
      ds.some((d) => d.lastError === 'dropped: the alert resolved during a maintenance window'),
    );
    // A later tick sends nothing about it either.
    await t.hub.notificationRunner.tick();
    assert.equal(hooksAbout('/hook', alert.id).length, 0);
    assert.equal(hooksAbout('/pager', alert.id).length, 0);
    assert.equal(mailsAbout(alert.id).length, 0);
  });

  it('deleting a window releases what it held within a minute', async () => {
    const w = await s.owner.notifications.windows.create({
      endsAt: iso(t.clock.now() + 24 * 60 * 60_000),
      reason: 'quarterly shutdown',
    });
    const { alert } = await t.hub.services.alerts.raise({
      orgId: s.orgId,
      deviceId: null,
      kind: 'auth_bruteforce',
      severity: 'high',
      title: 'Password guessing',
    });
    await t.hub.notificationRunner.tick();
    assert.equal(hooksAbout('/hook', alert.id).length, 0, 'a fleet alert is held by an org window');
    await s.owner.notifications.windows.delete(w.id);
    t.clock.advance(61_000);
    await t.hub.notificationRunner.tick();
    await eventually(() => hooksAbout('/hook', alert.id)[0], 'the released webhook');
    await eventually(() => mailsAbout(alert.id)[0], 'the released email');
  });

  it('bad input, permissions, tenancy and the audit trail', async () => {
    const now = t.clock.now();
    for (const [body, why] of [
      [{ endsAt: iso(now - 1_000), reason: 'x' }, /past/],
      [{ endsAt: iso(now + 31 * 86_400_000), reason: 'x' }, /30 days/],
      [
        { startsAt: iso(now + 2 * 3_600_000), endsAt: iso(now + 3_600_000), reason: 'x' },
        /after startsAt/,
      ],
      [
        {
          locationId: '0190a0a0-0000-7000-8000-000000000000',
          endsAt: iso(now + 60_000),
          reason: 'x',
        },
        /location/,
      ],
    ] as const) {
      const res = await raw(t, 'POST', '/notifications/windows', body, s.tokens.accessToken);
      assert.equal(res.status, 400);
      assert.equal(res.json['code'], 'maintenance_window_invalid');
      assert.match(String(res.json['detail']), why);
    }
    const noReason = await raw(
      t,
      'POST',
      '/notifications/windows',
      { endsAt: iso(now + 60_000) },
      s.tokens.accessToken,
    );
    assert.equal(noReason.status, 400);
    assert.equal((await s.owner.notifications.windows.list()).length, 0, 'nothing was created');

    const { key: viewer } = await s.owner.apiKeys.create({
      name: 'window viewer',
      permissions: ['devices:read'],
    });
    await rejectsCode(t.client(viewer).notifications.windows.list(), 'forbidden');
    const { key: operator } = await s.owner.apiKeys.create({
      name: 'window operator',
      permissions: ['devices:read', 'devices:manage'],
    });
    await rejectsCode(
      t.client(operator).notifications.windows.create({
        endsAt: iso(now + 60_000),
        reason: 'sneaky',
      }),
      'forbidden',
    );

    const other = await s.owner.orgs.create({ name: 'Other windows' });
    const foreign = await t.hub.services.maintenanceWindows.create(
      other.id,
      { endsAt: iso(now + 60_000), reason: 'theirs' },
      'user:someone',
    );
    await rejectsCode(s.owner.notifications.windows.get(foreign.id), 'not_found');
    await rejectsCode(s.owner.notifications.windows.delete(foreign.id), 'not_found');
    assert.equal((await t.hub.services.maintenanceWindows.list(other.id)).length, 1);

    const audit = await s.api.audit.list({ limit: 200 });
    const actions = audit.items.map((x) => x.action);
    assert.ok(actions.includes('createMaintenanceWindow'));
    assert.ok(actions.includes('deleteMaintenanceWindow'));
  });
});

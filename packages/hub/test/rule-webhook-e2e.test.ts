/**
 * The `webhook` action of rules on telemetry end to end (decision 0035, amendment), on the real
 * hub: a device publishes SenML over MQTT, the rule fires and a signed `rule.fired` delivery
 * reaches a real HTTPS receiver through the notification queue — retried, dead-lettered and
 * re-driven like an alert's. The endpoint is checked when the rule is saved (it exists in the
 * organization and is a webhook), setting one needs `notifications:manage`, and the action is
 * audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { verifyWebhook } from '@bulwark/core';
import { eventually, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { startHttpsReceiver, type HttpsReceiver } from './notify-fixtures.js';

const SECRET = 'whsec-rules-0123456789abcdef';

describe('rules on telemetry → signed webhook, end to end', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let rx: HttpsReceiver;
  let client: MqttClient;
  let channelId: string;
  let deviceId: string;
  let hookId: string;
  let mailId: string;
  let ruleId: string;

  const temp = async (v: number) => {
    const pack = JSON.stringify([{ bn: 'boiler/', n: 'temp', u: 'Cel', v }]);
    assert.equal(await publish(client, `channels/${channelId}/messages`, pack, { qos: 1 }), 0);
  };
  const rulePosts = () => rx.received.filter((r) => r.path === '/rules');
  const base = (endpointId: string) => ({
    name: 'boiler too hot',
    record: 'boiler/temp',
    condition: { op: 'gt' as const, value: 80 },
    actions: [{ type: 'webhook' as const, endpointId }],
  });

  before(async () => {
    rx = await startHttpsReceiver();
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (
      await s.api.channels.create({ name: 'plant', contentType: 'application/senml+json' })
    ).id;
    const d = await s.api.devices.create({ name: 'boiler-1', type: 'boiler' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    client = await connectTls(t, { clientId: d.id, username: d.id, password: key });
    deviceId = d.id;
    hookId = (
      await s.owner.notifications.endpoints.create({
        kind: 'webhook',
        name: 'rules hook',
        url: `${rx.url}/rules`,
        secret: SECRET,
        caPem: rx.caPem,
      })
    ).id;
    mailId = (
      await s.owner.notifications.endpoints.create({
        kind: 'email',
        name: 'mail',
        // Never contacted: the rule naming it is refused.
        host: '127.0.0.1',
        port: 9,
        security: 'none',
        from: 'bulwark@example.com',
        to: ['ops@example.com'],
      })
    ).id;
  });
  after(async () => {
    client?.end(true);
    await t?.close();
    await rx?.close();
  });

  it('refuses an endpoint that is unknown, another organization’s or not a webhook, and a caller without notifications:manage', async () => {
    const other = await s.owner.orgs.create({ name: 'Elsewhere' });
    const foreign = await t.hub.services.notifications.createEndpoint(other.id, {
      kind: 'webhook',
      name: 'theirs',
      url: `${rx.url}/theirs`,
      secret: SECRET,
    });
    for (const [endpointId, why] of [
      [mailId, /not a webhook/],
      [foreign.id, /no such notification endpoint/],
      ['0190a0a0-0000-7000-8000-000000000000', /no such notification endpoint/],
    ] as const) {
      const r = await raw(t, 'POST', '/rules', base(endpointId), s.tokens.accessToken);
      assert.equal(r.status, 400);
      assert.equal(r.json['code'], 'rule_invalid');
      assert.equal(r.json['field'], 'actions[0].endpointId');
      assert.match(String(r.json['detail']), why);
    }
    // The API key has devices:manage (rules) but not notifications:manage.
    const r = await raw(t, 'POST', '/rules', base(hookId), s.apiKey);
    assert.equal(r.status, 403);
    assert.equal(r.json['code'], 'forbidden');
    assert.equal((await s.owner.rules.list()).items.length, 0, 'nothing was saved');
  });

  it('a rule firing on SenML over MQTT delivers a signed rule.fired webhook; audited', async () => {
    ruleId = (await s.owner.rules.create(base(hookId))).id;
    await temp(85);
    const post = await eventually(async () => {
      await t.hub.notificationRunner.tick();
      return rulePosts()[0];
    }, 'the rule webhook');
    const sig = String(post.headers['bulwark-signature']);
    assert.equal(verifyWebhook(sig, post.body, SECRET, Math.floor(t.clock.now() / 1000)), true);
    assert.equal(
      verifyWebhook(sig, post.body, 'another secret!!', Math.floor(t.clock.now() / 1000)),
      false,
    );
    assert.equal(post.headers['bulwark-event'], 'rule.fired');
    const body = JSON.parse(post.body) as Record<string, unknown> & { rule: { id: string } };
    assert.equal(body['type'], 'rule.fired');
    assert.equal(body['id'], post.headers['bulwark-delivery']);
    assert.equal(body.rule.id, ruleId);
    assert.equal(body['deviceId'], deviceId);
    assert.equal(body['record'], 'boiler/temp');
    assert.equal(body['value'], 85);
    const [d] = (await s.owner.notifications.deliveries.list({ endpointId: hookId })).items;
    assert.equal(d?.event, 'rule.fired');
    assert.equal(d?.state, 'delivered');
    assert.equal(d?.alertId, null);
    const audit = await s.api.audit.list({ limit: 200 });
    const row = audit.items.find((x) => x.action === 'rule.webhook');
    assert.equal(row?.result, 'success');
    assert.equal((row?.detail as { deliveryId?: string })['deliveryId'], d?.id);
    // An endpoint a rule sends to cannot be deleted.
    await assert.rejects(s.owner.notifications.endpoints.delete(hookId), (e: { code?: string }) => {
      assert.equal(e.code, 'notification_endpoint_in_use');
      return true;
    });
  });

  it('a failing receiver: retried with backoff, dead-lettered, re-driven — the alerts’ queue', async () => {
    rx.status.set('/rules', 503);
    await temp(20); // clears, re-arms
    t.clock.advance(61_000); // a rule fires again a minute after its last firing at the earliest
    const before = rulePosts().length;
    await temp(90);
    await eventually(async () => {
      await t.hub.notificationRunner.tick();
      return rulePosts().length > before ? true : undefined;
    }, 'the first failing attempt');
    const pending = await eventually(async () => {
      const items = (await s.owner.notifications.deliveries.list({ endpointId: hookId })).items;
      return items.find((x) => x.state === 'pending' && x.attempts === 1);
    }, 'a retried delivery');
    assert.match(pending.lastError ?? '', /503/);
    for (let i = 0; i < 12; i++) {
      t.clock.advance(16 * 60_000);
      await t.hub.notificationRunner.tick();
    }
    const dead = (await s.owner.notifications.deliveries.list({ state: 'dead' })).items.find(
      (x) => x.id === pending.id,
    );
    assert.equal(dead?.attempts, 8);
    rx.status.delete('/rules');
    await s.owner.notifications.deliveries.redrive(pending.id);
    // The endpoint's breaker opened on the failures; once its time is up the re-driven one probes.
    t.clock.advance(11 * 60_000);
    await t.hub.notificationRunner.tick();
    const [again] = (await s.owner.notifications.deliveries.list({ endpointId: hookId })).items;
    assert.equal(again?.id, pending.id);
    assert.equal(again?.state, 'delivered');
    const last = rulePosts().at(-1)!;
    assert.equal((JSON.parse(last.body) as { value: number }).value, 90);
  });
});

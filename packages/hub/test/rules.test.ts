/**
 * Rules on telemetry with the real hub (decision 0035): a device publishes SenML over MQTT; a rule
 * that held for its duration raises an alert, sends a command the device receives over MQTT and
 * changes the desired twin the API shows; it fires once, re-arms when the value clears, and never
 * on another organization's messages. Bad rules are refused with the field named; permissions and
 * tenancy are enforced; every change and every action is audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { deviceTopic } from '@bulwark/protocol';
import type { BulwarkClient } from '@bulwark/sdk';
import {
  eventually as poll,
  PASSWORD,
  raw,
  rejectsWith,
  setupOwner,
  startTestHub,
  type TestHub,
} from './helpers.js';
import { connectTls, publish, subscribe } from './mqtt-helpers.js';

const eventually = <T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> => poll(check, what, { everyMs: 50 });

type Owner = Awaited<ReturnType<typeof setupOwner>>;

/** Waits until `check` returns a value (not undefined), polling a bounded number of times. */

describe('rules on telemetry, end to end', () => {
  let t: TestHub;
  let s: Owner;
  const open: MqttClient[] = [];
  let channelId: string;
  let device: { id: string; key: string };
  let c: MqttClient;
  const commands: Array<Record<string, unknown>> = [];
  const stats = () => t.hub.services.ruleEvaluation.engine.stats;

  /** A device of the organization, connected to publish on the channel, online over MQTT. */
  const online = async (api: BulwarkClient, name: string, chan: string, tags: string[]) => {
    const d = await api.devices.create({ name, type: 'boiler', tags });
    const { key } = await api.devices.createKey(d.id);
    await api.channels.connect(chan, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    const client = await connectTls(t, { clientId: d.id, username: d.id, password: key });
    open.push(client);
    return { d: { id: d.id, key }, client };
  };
  /** Publishes one SenML temperature and waits until the engine has looked at it. */
  const temp = async (client: MqttClient, chan: string, v: number) => {
    const before = stats().matched;
    const pack = JSON.stringify([{ bn: 'boiler/', n: 'temp', u: 'Cel', v }]);
    assert.equal(await publish(client, `channels/${chan}/messages`, pack, { qos: 1 }), 0);
    await eventually(async () => (stats().matched > before ? true : undefined), 'evaluation');
  };
  const alerts = async (api: BulwarkClient, state: 'open' | 'resolved') =>
    (await api.call('listAlerts', { query: { state } })).items.filter(
      (a) => a.kind === 'telemetry_rule',
    );

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (
      await s.api.channels.create({ name: 'plant', contentType: 'application/senml+json' })
    ).id;
    const on = await online(s.api, 'boiler-1', channelId, ['boiler']);
    device = on.d;
    c = on.client;
    for (const f of deviceTopic.inbound(device.id)) assert.deepEqual(await subscribe(c, f, 1), [1]);
    c.on('message', (topic, payload) => {
      if (topic.includes('/commands/'))
        commands.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
  });
  after(async () => {
    for (const x of open) x.end(true);
    await t.close();
  });

  let ruleId: string;

  it('refuses bad rules with the field named, and saves nothing', async () => {
    const base = {
      name: 'hot',
      record: 'boiler/temp',
      condition: { op: 'gt' as const, value: 80 },
      actions: [{ type: 'alert' as const }],
    };
    const bad: Array<[unknown, string, RegExp]> = [
      [{ ...base, condition: { op: 'gt', value: 'x' } }, 'condition.value', /numbers/],
      [{ ...base, condition: { op: 'between', min: 9, max: 1 } }, 'condition.min', /above max/],
      [
        { ...base, actions: [{ type: 'twin', path: 'tickets.revoked', value: [] }] },
        'actions[0].path',
        /not writable/,
      ],
      [{ ...base, scope: { channelId: device.id } }, 'scope.channelId', /no such channel/],
      [{ ...base, condition: { op: 'eq', value: { a: 1 } } }, 'condition.value', /a boolean/],
    ];
    for (const [body, field, re] of bad) {
      const r = await raw(t, 'POST', '/rules', body, s.apiKey);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json['code'], 'rule_invalid');
      assert.equal(r.json['field'], field);
      assert.match(String(r.json['detail']), re);
    }
    const overLong = await raw(t, 'POST', '/rules', { ...base, forSeconds: 86_401 }, s.apiKey);
    assert.equal(overLong.status, 400);
    assert.equal(overLong.json['code'], 'validation_failed');
    assert.equal((await s.api.rules.list()).items.length, 0);
    // The string "3" stays a string (no type coercion of the operand): eq compares it with vs.
    const asString = await raw(
      t,
      'POST',
      '/rules',
      { ...base, condition: { op: 'eq', value: '3' } },
      s.apiKey,
    );
    assert.equal(asString.status, 201);
    assert.deepEqual(asString.json['condition'], { op: 'eq', value: '3' });
    await s.api.rules.delete(String(asString.json['id']));
  });

  it('creates a rule; a viewer key reads but cannot change it', async () => {
    const rule = await s.api.rules.create({
      name: 'boiler too hot',
      record: 'boiler/temp',
      condition: { op: 'gt', value: 80 },
      forSeconds: 60,
      scope: { channelId, tag: 'boiler' },
      actions: [
        { type: 'alert', resolveOnClear: true },
        { type: 'command', name: 'fan.on', params: { speed: 3 } },
        { type: 'twin', path: 'cooling.mode', value: 'max' },
      ],
    });
    ruleId = rule.id;
    assert.equal(rule.enabled, true);
    assert.deepEqual((await s.api.rules.get(rule.id)).actions, rule.actions);
    const { key } = await s.owner.apiKeys.create({ name: 'viewer', permissions: ['devices:read'] });
    const viewer = t.client(key);
    assert.equal((await viewer.rules.list()).items.length, 1);
    await rejectsWith(viewer.rules.disable(rule.id), 'forbidden');
    await rejectsWith(viewer.rules.delete(rule.id), 'forbidden');
    await rejectsWith(
      viewer.rules.create({
        name: 'x',
        record: 'y',
        condition: { op: 'gt', value: 1 },
        actions: [{ type: 'alert' }],
      }),
      'forbidden',
    );
  });

  it('the test endpoint evaluates a pack without side effects', async () => {
    const r = await s.api.rules.test({
      ruleId,
      senml: [
        { bn: 'boiler/', bt: 1000, n: 'temp', v: 85 },
        { n: 'temp', t: 30, v: 90 },
        { n: 'temp', t: 60, v: 91 },
        { n: 'humidity', t: 61, v: 40 },
      ],
    });
    assert.deepEqual(
      r.records.map((x) => [x.value, x.holds, x.fires]),
      [
        [85, true, false],
        [90, true, false],
        [91, true, true],
      ],
    );
    assert.equal(r.fired, true);
    assert.equal(stats().fired, 0);
    assert.deepEqual(await alerts(s.api, 'open'), []);
  });

  it('fires once the value held for the duration: alert, command over MQTT, desired twin', async () => {
    await temp(c, channelId, 85);
    t.clock.advance(30_000);
    await temp(c, channelId, 90);
    assert.equal(stats().fired, 0, 'only 30 s of the 60');
    t.clock.advance(31_000);
    await temp(c, channelId, 92);
    await eventually(async () => (stats().fired === 1 ? true : undefined), 'the rule firing');

    const [alert] = await eventually(async () => {
      const a = await alerts(s.api, 'open');
      return a.length > 0 ? a : undefined;
    }, 'the alert');
    assert.equal(alert?.deviceId, device.id);
    assert.deepEqual(
      {
        ruleId: alert?.evidence['ruleId'],
        record: alert?.evidence['record'],
        value: alert?.evidence['value'],
        condition: alert?.evidence['condition'],
        forSeconds: alert?.evidence['forSeconds'],
      },
      { ruleId, record: 'boiler/temp', value: 92, condition: '> 80', forSeconds: 60 },
    );
    const cmd = await eventually(
      async () => commands.find((x) => x['name'] === 'fan.on'),
      'the command on MQTT',
    );
    assert.deepEqual(cmd['params'], { speed: 3 });
    const twin = await s.api.call('getTwin', { params: { id: device.id } });
    assert.deepEqual(twin.desired.state['cooling'], { mode: 'max' });

    // Still hot: no second firing.
    t.clock.advance(120_000);
    await temp(c, channelId, 95);
    assert.equal(stats().fired, 1);
    assert.equal(commands.filter((x) => x['name'] === 'fan.on').length, 1);
  });

  it('every action is audited with the rule as the actor', async () => {
    const audit = (await s.api.call('listAudit', { query: { limit: 100 } })).items;
    for (const action of ['rule.alert', 'rule.command', 'rule.twin']) {
      const row = audit.find((e) => e.action === action);
      assert.ok(row, `${action} is audited`);
      assert.equal(row.actorType, 'rule');
      assert.equal(row.actorId, ruleId);
      assert.equal(row.targetId, device.id);
      assert.equal(row.result, 'success');
    }
    const twinChange = audit.find((e) => e.action === 'twin.desired.change');
    assert.equal(twinChange?.actorType, 'rule');
    const created = audit.find((e) => e.action === 'createRule' && e.result === 'success');
    assert.equal(created?.targetId, ruleId);
  });

  it('clearing resolves the alert; the rule re-arms and fires again', async () => {
    await temp(c, channelId, 70);
    await eventually(
      async () => ((await alerts(s.api, 'open')).length === 0 ? true : undefined),
      'the alert resolved',
    );
    assert.equal(stats().cleared, 1);
    await temp(c, channelId, 88);
    t.clock.advance(60_000);
    await temp(c, channelId, 89);
    await eventually(async () => (stats().fired === 2 ? true : undefined), 'the second firing');
    await eventually(
      async () => (commands.filter((x) => x['name'] === 'fan.on').length === 2 ? true : undefined),
      'the second command',
    );
  });

  it('a disabled rule does not fire; enabling starts afresh', async () => {
    await temp(c, channelId, 10);
    await s.api.rules.disable(ruleId);
    const before = stats().matched;
    const pack = JSON.stringify([{ n: 'boiler/temp', v: 99 }]);
    assert.equal(await publish(c, `channels/${channelId}/messages`, pack, { qos: 1 }), 0);
    // The message is accepted and stored; no rule looks at it.
    await eventually(async () => {
      const m = await s.api.call('listMessages', { params: { id: channelId }, query: {} });
      return m.items.length > 0 ? true : undefined;
    }, 'the message stored');
    assert.equal(stats().matched, before);
    await s.api.rules.enable(ruleId);
  });

  it("another organization's messages never fire it, and its ids answer 404 there", async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t.client().auth.login({
        email: 'owner@example.com',
        password: PASSWORD,
        organizationId: org2.id,
      })
    ).accessToken;
    const other = t.client(token);
    const chan2 = (
      await other.channels.create({ name: 'plant', contentType: 'application/senml+json' })
    ).id;
    const { client } = await online(other, 'boiler-1', chan2, ['boiler']);
    const fired = stats().fired;
    const matched = stats().matched;
    for (let i = 0; i < 3; i++) {
      const pack = JSON.stringify([{ n: 'boiler/temp', v: 200 }]);
      assert.equal(await publish(client, `channels/${chan2}/messages`, pack, { qos: 1 }), 0);
      t.clock.advance(120_000);
    }
    await eventually(async () => {
      const m = await other.call('listMessages', { params: { id: chan2 }, query: {} });
      return m.items.length === 3 ? true : undefined;
    }, 'the messages stored');
    assert.equal(stats().matched, matched, 'org A rules never look at org B messages');
    assert.equal(stats().fired, fired);
    assert.deepEqual(await alerts(other, 'open'), []);
    assert.equal((await other.rules.list()).items.length, 0);
    for (const [m, p] of [
      ['GET', `/rules/${ruleId}`],
      ['PATCH', `/rules/${ruleId}`],
      ['DELETE', `/rules/${ruleId}`],
      ['POST', `/rules/${ruleId}/disable`],
    ] as const) {
      const body = m === 'PATCH' ? { name: 'mine' } : m === 'POST' ? {} : undefined;
      assert.equal((await raw(t, m, p, body, token)).status, 404, `${m} ${p}`);
    }
    // A rule of org B cannot name org A's channel or device.
    const r = await raw(
      t,
      'POST',
      '/rules',
      {
        name: 'steal',
        record: 'boiler/temp',
        condition: { op: 'gt', value: 0 },
        scope: { deviceId: device.id },
        actions: [{ type: 'command', name: 'reboot' }],
      },
      token,
    );
    assert.equal(r.status, 400);
    assert.equal(r.json['field'], 'scope.deviceId');
  });

  it('deleting a rule stops it and is audited', async () => {
    await s.api.rules.delete(ruleId);
    await rejectsWith(s.api.rules.get(ruleId), 'not_found');
    assert.equal(t.hub.services.ruleEvaluation.engine.evaluator.size, 0);
    const audit = (await s.api.call('listAudit', { query: { action: 'deleteRule' } })).items;
    assert.equal(audit[0]?.targetId, ruleId);
  });
});

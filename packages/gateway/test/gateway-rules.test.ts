/**
 * Local operation of a site (decision 0040, amendment "local operation"): rules on telemetry
 * (decision 0035) synced to the gateway and evaluated there, online or not. A real hub, a real
 * gateway and MQTT devices speaking the device plane to the gateway's broker; the uplink is cut
 * by stopping the hub, as in the outage test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { newId } from '@bulwark/core';
import {
  connectDevice,
  enrollDevice,
  setupOrg,
  startGateway,
  startTestHub,
  stored,
  waitFor,
  type RunningGateway,
  type SiteDevice,
  type TestHub,
} from './helpers.js';

const SENML = 'application/senml+json';

describe('gateway: rules on telemetry at the site, with the uplink down', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;
  let boiler: SiteDevice;
  let sensor: SiteDevice;
  let ruleId: string;
  const ran: string[] = [];
  const clients: MqttClient[] = [];

  /** A site device that runs `fan.on` itself: it answers every command on its plane. */
  async function device(d: SiteDevice): Promise<MqttClient> {
    const c = await connectDevice(g, d);
    clients.push(c);
    c.on('message', (topic, payload) => {
      const m = /^\$devices\/[^/]+\/commands\/([^/]+)$/.exec(topic);
      if (!m) return;
      const cmd = JSON.parse(payload.toString()) as { id: string; name: string };
      ran.push(cmd.id);
      void c.publishAsync(
        `${topic}/status`,
        JSON.stringify({ state: 'succeeded', result: { ran: cmd.name } }),
        { qos: 1 },
      );
    });
    await c.subscribeAsync(`$devices/${d.deviceId}/commands/+`, { qos: 1 });
    return c;
  }
  const temp = (c: MqttClient, v: number) =>
    c.publishAsync(`channels/${s.channelId}/messages/t`, JSON.stringify([{ n: 'temp', v }]), {
      qos: 1,
      properties: { contentType: SENML },
    });

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId);
    boiler = await enrollDevice(t, s.api, 'boiler-1', {
      type: 'boiler',
      locationId: s.siteId,
      channelId: s.channelId,
    });
    sensor = await enrollDevice(t, s.api, 'sensor-1', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    // A group scope (type) the hub resolves for the gateway, and the channel.
    ruleId = (
      await s.api.rules.create({
        name: 'boiler too hot',
        record: 'temp',
        condition: { op: 'gt', value: 80 },
        forSeconds: 0,
        scope: { channelId: s.channelId, type: 'boiler' },
        actions: [{ type: 'alert' }, { type: 'command', name: 'fan.on', params: { speed: 3 } }],
      })
    ).id;
    await g.gateway.sync.syncNow();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    await g?.stop();
    await t?.close();
  });

  it('the site view carries the rule with the devices its scope takes', () => {
    const rules = g.gateway.sync.site?.view.rules ?? [];
    assert.deepEqual(
      rules.map((r) => [r.id, r.devices]),
      [[ruleId, [boiler.deviceId]]],
    );
    assert.equal(g.gateway.status().rules.held, 1);
  });

  it('fires once on the gateway while the hub is away; the hub records it once when back', async () => {
    const b = await device(boiler);
    const x = await device(sensor);
    await t.stop(); // the uplink is cut
    const cutAt = Date.now();
    await temp(b, 70);
    await temp(b, 85); // the crossing
    await temp(b, 90); // still above: no second firing
    await temp(x, 95); // a sensor, not a boiler: out of the rule's scope
    await waitFor(() => ran.length === 1, 'the boiler ran the command the gateway sent it');
    await waitFor(() => g.gateway.plane.stats.reports >= 1, 'its result queued on the gateway');
    const st = g.gateway.status();
    assert.deepEqual([st.rules.evaluated, st.rules.fired, st.rules.commands], [4, 1, 1]);
    await t.restart();
    await waitFor(() => g.gateway.status().queue.messages === 0, 'the backlog drained', 20_000);
    const cmds = await s.api.commands.list(boiler.deviceId);
    assert.equal(cmds.items.length, 1, 'one command, the one the gateway ran');
    const cmd = cmds.items[0]!;
    assert.equal(cmd.id, ran[0]);
    await waitFor(
      async () => (await s.api.commands.get(cmd.id)).state === 'succeeded',
      'its result at the hub',
    );
    const done = await s.api.commands.get(cmd.id);
    assert.deepEqual(done.result, { ran: 'fan.on' });
    assert.equal(done.history.filter((h) => h.state === 'succeeded').length, 1);
    const alerts = await s.api.alerts.list({ deviceId: boiler.deviceId, kind: 'telemetry_rule' });
    assert.equal(alerts.items.length, 1);
    assert.equal(alerts.items[0]!.occurrences, 1);
    const firedAt = Date.parse(alerts.items[0]!.evidence['firedAt'] as string);
    assert.ok(firedAt >= cutAt && firedAt < Date.now(), 'the alert says when it fired');
    assert.equal(
      (await s.api.alerts.list({ deviceId: sensor.deviceId, kind: 'telemetry_rule' })).items.length,
      0,
    );
    // The hub's own engine saw the drained messages and left them to the gateway's evaluation.
    assert.deepEqual(t.hub.services.ruleEvaluation.engine.stats, {
      matched: 0,
      fired: 0,
      cleared: 0,
    });
    assert.equal((await stored(s.api, s.channelId)).length, 4);
  });

  it('online too the gateway evaluates and the hub skips; rule changes arrive at the next sync', async () => {
    const b = clients[0]!;
    await temp(b, 60);
    await waitFor(async () => (await stored(s.api, s.channelId)).length === 5, 'stored');
    assert.equal(t.hub.services.ruleEvaluation.engine.stats.matched, 0);
    assert.equal(g.gateway.status().rules.evaluated, 5);
    await s.api.rules.update(ruleId, { condition: { op: 'gt', value: 100 } });
    await g.gateway.sync.syncNow();
    assert.equal(g.gateway.rules.evaluator.rule(ruleId)?.rule.condition.value, 100);
    await s.api.rules.delete(ruleId);
    await g.gateway.sync.syncNow();
    assert.equal(g.gateway.status().rules.held, 0);
  });

  it('a LAN device cannot push rules or firings; a gateway cannot fire a rule out of its scope', async () => {
    const b = clients[0]!;
    const forged = JSON.stringify({ v: 1, messages: [] });
    await assert.rejects(b.publishAsync(`$devices/${g.deviceId}/uplink`, forged, { qos: 1 }));
    const b2 = await connectDevice(g, boiler);
    clients.push(b2);
    await assert.rejects(
      b2.publishAsync(`$devices/${boiler.deviceId}/rules`, forged, { qos: 1 }),
      'no such topic on the device plane',
    );
    await assert.rejects(b2.subscribeAsync(`$devices/${g.deviceId}/#`, { qos: 1 }), /authorized/);
    assert.equal(g.gateway.status().rules.held, 0);

    // The gateway's own link: a firing of a rule that does not take the device is refused.
    const rule = await s.api.rules.create({
      name: 'boilers only',
      record: 'temp',
      condition: { op: 'gt', value: 80 },
      scope: { type: 'boiler' },
      actions: [{ type: 'alert' }, { type: 'command', name: 'fan.on' }],
    });
    const firing = (device: string, commands: unknown[], extra = {}) => ({
      id: newId(),
      device,
      channel: '',
      subtopic: '',
      firing: true,
      payload: Buffer.from(
        JSON.stringify({
          v: 1,
          t: 'fire',
          ruleId: rule.id,
          ruleUpdatedAt: Date.parse(rule.updatedAt),
          channelId: s.channelId,
          record: 'temp',
          value: 99,
          messageId: newId(),
          at: Date.now(),
          commands,
          ...extra,
        }),
      ).toString('base64'),
    });
    const cmd = (name: string) => ({ id: newId(), name, params: {}, deadline: Date.now() + 60e3 });
    const batch = {
      v: 1,
      messages: [
        firing(sensor.deviceId, [cmd('fan.on')]), // out of scope
        firing(boiler.deviceId, [cmd('reboot')]), // a command the rule does not take
        firing(boiler.deviceId, [cmd('fan.on')]), // the control: the rule's own, in scope
      ],
    };
    await g.agent.publishOwn('uplink', Buffer.from(JSON.stringify(batch)));
    // The same firing again, under new ids, within the rule's minute: refused (a flood bound).
    const replay = { v: 1, messages: [firing(boiler.deviceId, [cmd('fan.on')])] };
    await g.agent.publishOwn('uplink', Buffer.from(JSON.stringify(replay)));
    const alerts = await s.api.alerts.list({ kind: 'telemetry_rule' });
    assert.deepEqual(
      alerts.items.map((a) => a.deviceId),
      [boiler.deviceId, boiler.deviceId],
      'the earlier alert and the control, none for the sensor',
    );
    assert.equal((await s.api.commands.list(sensor.deviceId)).items.length, 0);
    const names = (await s.api.commands.list(boiler.deviceId)).items.map((c) => c.name);
    assert.deepEqual(names, ['fan.on', 'fan.on'], 'the control recorded, no reboot');
    assert.deepEqual(
      alerts.items.map((a) => a.occurrences),
      [1, 1],
    );

    // The rule changed after the gateway's last sync: a firing of the version the site held (a
    // minute later) records the command the site ran as it was, and acts as the rule now says.
    await s.api.rules.update(rule.id, { actions: [{ type: 'alert' }] });
    const stale = firing(boiler.deviceId, [cmd('fan.slow')], { at: Date.now() + 61_000 });
    await g.agent.publishOwn('uplink', Buffer.from(JSON.stringify({ v: 1, messages: [stale] })));
    const after = (await s.api.commands.list(boiler.deviceId)).items.map((c) => [c.name, c.state]);
    assert.deepEqual(after[0], ['fan.slow', 'delivered']);
    assert.equal(after.length, 3);
  });
});

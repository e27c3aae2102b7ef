/**
 * The device plane through a gateway, attacked at the hub (decision 0040, amendment "device
 * plane"): a gateway speaking to the hub directly with its own certificate reports and takes
 * delivery for devices it may not speak for. The hub refuses and reports each (`authz.denied`,
 * principal the gateway) and changes nothing; a quarantined device's plane is what it is on a
 * direct connection (management open, channels closed); a decommissioned one has none.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { newId, type DomainEvent } from '@bulwark/core';
import type { BulwarkClient } from '@bulwark/sdk';
import {
  PASSWORD,
  enrollDevice,
  setupOrg,
  startTestHub,
  stored,
  waitFor,
  type SiteDevice,
  type TestHub,
} from './helpers.js';

describe('gateway device plane: whom a gateway may report for and take delivery for', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let other: { api: BulwarkClient; device: SiteDevice };
  let gw: SiteDevice;
  let hub: MqttClient;
  const denied: Extract<DomainEvent, { type: 'authz.denied' }>[] = [];
  const downlink: { topic: string; body: string }[] = [];

  const connectRaw = (d: SiteDevice) =>
    mqtt.connectAsync(`mqtts://127.0.0.1:${t.mqttPort}`, {
      clientId: d.deviceId,
      key: d.keyPem,
      cert: d.certPem + d.chain[0],
      ca: t.ca,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
  const status = (device: string, commandId: string, note: string) => ({
    id: newId(),
    device,
    channel: '',
    subtopic: '',
    plane: `commands/${commandId}/status`,
    payload: Buffer.from(JSON.stringify({ state: 'succeeded', result: { note } })).toString(
      'base64',
    ),
  });
  const uplink = (messages: object[]) =>
    hub.publishAsync(`$devices/${gw.deviceId}/uplink`, JSON.stringify({ v: 1, messages }), {
      qos: 1,
    });

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    t.hub.services.events.listen((e) => {
      if (e.type === 'authz.denied' && e.principal.id === gw?.deviceId) denied.push(e);
    });
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id })
    ).accessToken;
    const api = t.client(token);
    other = { api, device: await enrollDevice(t, api, 'foreign') };
    gw = await enrollDevice(t, s.api, 'gw-raw', { type: 'gateway', locationId: s.siteId });
    hub = await connectRaw(gw);
    hub.on('message', (topic, payload) => downlink.push({ topic, body: payload.toString() }));
    await hub.subscribeAsync(`$devices/${gw.deviceId}/downlink/#`, { qos: 1 });
  });
  after(async () => {
    await hub?.endAsync();
    await t?.close();
  });

  it('reports for another organization’s device or one outside the site are refused and reported', async () => {
    const inSite = await enrollDevice(t, s.api, 'in-site', { locationId: s.siteId });
    const outside = await enrollDevice(t, s.api, 'outside');
    const cIn = await s.api.commands.send(inSite.deviceId, { name: 'ping' });
    const cOut = await s.api.commands.send(outside.deviceId, { name: 'ping' });
    const cOther = await other.api.commands.send(other.device.deviceId, { name: 'ping' });
    const batch = [
      status(inSite.deviceId, cIn.id, 'ok'),
      status(outside.deviceId, cOut.id, 'attack-outside'),
      status(other.device.deviceId, cOther.id, 'attack-other-org'),
      // The gateway itself is no member of its site: it reports for itself on its own plane.
      status(gw.deviceId, cIn.id, 'attack-itself'),
    ];
    await uplink(batch);
    // Sent again (a resend after a lost acknowledgement): applied once.
    await uplink(batch);
    const done = await s.api.commands.wait(cIn.id, { timeoutMs: 10_000 });
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.result, { note: 'ok' });
    assert.equal(done.history.filter((h) => h.state === 'succeeded').length, 1);
    assert.equal((await s.api.commands.get(cOut.id)).state, 'queued');
    assert.equal((await other.api.commands.get(cOther.id)).state, 'queued');
    const refused = denied.map((e) => e.resource);
    for (const d of [outside.deviceId, other.device.deviceId, gw.deviceId])
      assert.ok(
        refused.some((r) => r.startsWith(`gateway:${d}:commands/`)),
        `a denial for ${d} in ${refused.join(', ')}`,
      );
    assert.ok(denied.every((e) => e.orgId === (denied[0]?.orgId ?? '') && e.action === 'publish'));
  });

  it('takes delivery only for its own site’s devices', async () => {
    const inSite = await enrollDevice(t, s.api, 'in-site-2', { locationId: s.siteId });
    const outside = await enrollDevice(t, s.api, 'outside-2');
    const cIn = await s.api.commands.send(inSite.deviceId, { name: 'ping' });
    const cOut = await s.api.commands.send(outside.deviceId, { name: 'ping' });
    const cOther = await other.api.commands.send(other.device.deviceId, { name: 'ping' });
    const before = denied.length;
    const takes = ['desired', 'command', 'updateOffer'];
    await hub.publishAsync(
      `$devices/${gw.deviceId}/sessions`,
      JSON.stringify({
        v: 1,
        devices: [inSite, outside, other.device].map((d) => ({ id: d.deviceId, takes })),
      }),
      { qos: 1 },
    );
    await waitFor(
      () =>
        downlink.some((m) => m.topic.endsWith(`/downlink/${inSite.deviceId}/commands/${cIn.id}`)),
      'the site device’s command through the gateway',
    );
    // Its presence follows the gateway's snapshot.
    assert.equal((await s.api.devices.presence(inSite.deviceId)).online, true);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!downlink.some((m) => m.body.includes(cOut.id) || m.body.includes(cOther.id)));
    const refused = denied.slice(before).map((e) => `${e.action} ${e.resource}`);
    assert.ok(refused.includes(`subscribe gateway:${outside.deviceId}`), refused.join(', '));
    assert.ok(refused.includes(`subscribe gateway:${other.device.deviceId}`), refused.join(', '));
    assert.equal((await s.api.devices.presence(outside.deviceId)).online, false);
    // The snapshot without it: its proxy session ends, it is offline again.
    await hub.publishAsync(
      `$devices/${gw.deviceId}/sessions`,
      JSON.stringify({ v: 1, devices: [] }),
      { qos: 1 },
    );
    await waitFor(
      async () => !(await s.api.devices.presence(inSite.deviceId)).online,
      'offline once the gateway no longer holds it',
    );
  });

  it('a quarantined device keeps its management plane through the gateway and loses its channels, as on a direct connection', async () => {
    const q = await enrollDevice(t, s.api, 'quarantined', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    const dec = await enrollDevice(t, s.api, 'decommissioned', { locationId: s.siteId });
    const cq = await s.api.commands.send(q.deviceId, { name: 'ping' });
    const cd = await s.api.commands.send(dec.deviceId, { name: 'ping' });
    await s.api.devices.update(q.deviceId, { state: 'quarantined' });
    await s.api.devices.decommission(dec.deviceId);
    const before = denied.length;
    await uplink([
      status(q.deviceId, cq.id, 'quarantined-ok'),
      status(dec.deviceId, cd.id, 'attack-decommissioned'),
      {
        id: newId(),
        device: q.deviceId,
        channel: s.channelId,
        subtopic: 'q',
        payload: Buffer.from('attack-quarantined-data').toString('base64'),
      },
    ]);
    assert.equal((await s.api.commands.wait(cq.id, { timeoutMs: 10_000 })).state, 'succeeded');
    const refused = denied.slice(before).map((e) => e.resource);
    assert.ok(
      refused.some((r) => r.startsWith(`gateway:${dec.deviceId}:commands/`)),
      refused.join(),
    );
    assert.ok(refused.includes(`gateway:${q.deviceId}`), refused.join());
    assert.ok(!(await stored(s.api, s.channelId)).some((m) => m.text.startsWith('attack-')));
    assert.notEqual((await s.api.commands.get(cd.id)).state, 'succeeded');
  });

  it('a device that is no gateway cannot send a session snapshot', async () => {
    const plain = await enrollDevice(t, s.api, 'not-a-gateway', { locationId: s.siteId });
    const c = await connectRaw(plain);
    await assert.rejects(
      c.publishAsync(`$devices/${plain.deviceId}/sessions`, JSON.stringify({ v: 1, devices: [] }), {
        qos: 1,
      }),
      /0x87|135|Not authorized|gateway/i,
    );
    await c.endAsync();
  });
});

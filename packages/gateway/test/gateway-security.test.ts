import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { newId } from '@bulwark/core';
import type { BulwarkClient } from '@bulwark/sdk';
import {
  PASSWORD,
  connectDevice,
  enrollDevice,
  setupOrg,
  startGateway,
  startTestHub,
  stored,
  tryConnect,
  waitFor,
  type RunningGateway,
  type SiteDevice,
  type TestHub,
} from './helpers.js';

describe('gateway security: offline admission, revocation, other organizations, speaking for devices', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;
  let other: { api: BulwarkClient; channelId: string; device: SiteDevice };

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId);
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id })
    ).accessToken;
    const api = t.client(token);
    const channelId = (await api.call('createChannel', { body: { name: 'theirs' } })).id;
    other = { api, channelId, device: await enrollDevice(t, api, 'foreign', { channelId }) };
  });
  after(async () => {
    await g?.stop();
    await t?.close();
  });

  it('a revoked device certificate is refused after the next sync, and its session is cut', async () => {
    const d = await enrollDevice(t, s.api, 'to-revoke', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    await g.gateway.sync.syncNow();
    const c = await connectDevice(g, d);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await s.api.call('revokeCertificate', {
      params: { id: d.deviceId, serial: d.serial },
      body: { reason: 'keyCompromise' },
    });
    // Until the gateway syncs, it cannot know (offline admission); then it knows.
    assert.ok(await g.gateway.sync.syncNow());
    await closed;
    assert.match(await tryConnect(g, d), /^refused/);
  });

  it("a device of another organization (another CA) is refused, even naming this site's device", async () => {
    assert.match(await tryConnect(g, other.device), /^refused/);
    const mine = await enrollDevice(t, s.api, 'mine', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    await g.gateway.sync.syncNow();
    assert.equal(await tryConnect(g, mine), 'connected');
    // The foreign certificate with this site's device id as client id: still its own CA's.
    assert.match(await tryConnect(g, { ...other.device, deviceId: mine.deviceId }), /^refused/);
  });

  it('a device of this organization outside the site is refused by the gateway', async () => {
    const away = await enrollDevice(t, s.api, 'elsewhere-in-org', { channelId: s.channelId });
    await g.gateway.sync.syncNow();
    assert.match(await tryConnect(g, away), /^refused/);
  });

  it('the hub stores an uplink message only for a device the gateway may speak for, once per id', async () => {
    // A second gateway of the site, speaking to the hub directly with its own certificate.
    const gw = await enrollDevice(t, s.api, 'gw-raw', { type: 'gateway', locationId: s.siteId });
    const inSite = await enrollDevice(t, s.api, 'in-site', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    const tagged = await enrollDevice(t, s.api, 'tagged', {
      channelId: s.channelId,
      tags: [`gateway=${gw.deviceId}`],
    });
    const outside = await enrollDevice(t, s.api, 'outside', { channelId: s.channelId });
    const hub = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.mqttPort}`, {
      clientId: gw.deviceId,
      key: gw.keyPem,
      cert: gw.certPem + gw.chain[0],
      ca: t.ca,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const msg = (device: string, channel: string, text: string) => ({
      id: newId(),
      device,
      channel,
      subtopic: 'raw',
      payload: Buffer.from(text).toString('base64'),
    });
    const batch = {
      v: 1,
      messages: [
        msg(inSite.deviceId, s.channelId, 'ok-site'),
        msg(tagged.deviceId, s.channelId, 'ok-tagged'),
        msg(outside.deviceId, s.channelId, 'attack-outside'),
        msg(other.device.deviceId, other.channelId, 'attack-other-org'),
        msg(gw.deviceId, s.channelId, 'attack-itself'),
      ],
    };
    const topic = `$devices/${gw.deviceId}/uplink`;
    await hub.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
    // The same batch again (a resend after a lost acknowledgement): nothing is stored twice.
    await hub.publishAsync(topic, JSON.stringify(batch), { qos: 1 });
    await waitFor(
      async () => (await stored(s.api, s.channelId)).some((m) => m.text === 'ok-tagged'),
      'the accepted messages',
    );
    const rows = (await stored(s.api, s.channelId)).filter(
      (m) => m.text.startsWith('ok-') || m.text.startsWith('attack-'),
    );
    assert.deepEqual(rows.map((m) => m.text).sort(), ['ok-site', 'ok-tagged']);
    assert.deepEqual(rows.map((m) => m.device).sort(), [inSite.deviceId, tagged.deviceId].sort());
    const theirs = [];
    for await (const m of other.api.channels.allMessages(other.channelId, { limit: 100 }))
      theirs.push(m);
    assert.equal(theirs.length, 0);
    await hub.endAsync();
  });

  it('a device that is no gateway cannot publish an uplink batch', async () => {
    const plain = await enrollDevice(t, s.api, 'not-a-gateway', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    const victim = await enrollDevice(t, s.api, 'victim', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    const hub = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.mqttPort}`, {
      clientId: plain.deviceId,
      key: plain.keyPem,
      cert: plain.certPem + plain.chain[0],
      ca: t.ca,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const batch = {
      v: 1,
      messages: [
        {
          id: newId(),
          device: victim.deviceId,
          channel: s.channelId,
          subtopic: 'raw',
          payload: Buffer.from('forged').toString('base64'),
        },
      ],
    };
    await assert.rejects(
      hub.publishAsync(`$devices/${plain.deviceId}/uplink`, JSON.stringify(batch), { qos: 1 }),
      /Not authorized|0x87|135/i,
    );
    await hub.endAsync();
    assert.ok(!(await stored(s.api, s.channelId)).some((m) => m.text === 'forged'));
  });
});

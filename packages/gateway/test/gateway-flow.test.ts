import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectDevice,
  enrollDevice,
  setupOrg,
  startGateway,
  startTestHub,
  stored,
  waitFor,
  type RunningGateway,
  type TestHub,
} from './helpers.js';

describe('gateway: site devices → local broker → durable queue → hub storage', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId);
  });
  after(async () => {
    await g?.stop();
    await t?.close();
  });

  it('stores each device message once, as the device’s, in per-device order', async () => {
    const devs = await Promise.all(
      [1, 2, 3].map((i) =>
        enrollDevice(t, s.api, `sensor-${i}`, { locationId: s.siteId, channelId: s.channelId }),
      ),
    );
    await g.gateway.sync.syncNow();
    const clients = await Promise.all(devs.map((d) => connectDevice(g, d)));
    const N = 50;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let n = 0; n < N; n++)
          await c.publishAsync(`channels/${s.channelId}/messages/room`, `d${i}:${n}`, { qos: 1 });
      }),
    );
    await Promise.all(clients.map((c) => c.endAsync()));
    await waitFor(async () => (await stored(s.api, s.channelId)).length >= 3 * N, 'all stored');
    const rows = await stored(s.api, s.channelId);
    assert.equal(rows.length, 3 * N);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    devs.forEach((d, i) => {
      const mine = rows.filter((r) => r.device === d.deviceId).map((r) => r.text);
      assert.deepEqual(
        mine,
        Array.from({ length: N }, (_, n) => `d${i}:${n}`),
      );
    });
    assert.ok(rows.every((r) => r.protocol === 'gateway'));
    await waitFor(() => g.gateway.status().queue.messages === 0, 'the queue drained');
  });

  it('refuses what the device may not publish, locally', async () => {
    const d = await enrollDevice(t, s.api, 'no-rights', { locationId: s.siteId });
    await g.gateway.sync.syncNow();
    const c = await connectDevice(g, d);
    await assert.rejects(
      c.publishAsync(`channels/${s.channelId}/messages/x`, 'nope', { qos: 1 }),
      /0x87|Not authorized|135/i,
    );
    await c.endAsync();
  });
});

describe('gateway overflow: a full queue refuses with Quota exceeded', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId, { queue: { maxMessages: 5 } });
  });
  after(async () => {
    await g?.stop();
    await t?.close();
  });

  it('refuses the message beyond the bound while the hub is away, keeps the five, forwards them later', async () => {
    const d = await enrollDevice(t, s.api, 'fills', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    await g.gateway.sync.syncNow();
    const c = await connectDevice(g, d);
    await t.stop();
    for (let n = 0; n < 5; n++)
      await c.publishAsync(`channels/${s.channelId}/messages/x`, `m${n}`, { qos: 1 });
    await assert.rejects(
      c.publishAsync(`channels/${s.channelId}/messages/x`, 'm5', { qos: 1 }),
      /Quota exceeded|0x97|151/i,
    );
    await t.restart();
    await waitFor(async () => (await stored(s.api, s.channelId)).length === 5, 'the five stored');
    await waitFor(() => g.gateway.status().queue.messages === 0, 'the queue emptied');
    await c.publishAsync(`channels/${s.channelId}/messages/x`, 'm5', { qos: 1 });
    await waitFor(async () => (await stored(s.api, s.channelId)).length === 6, 'the sixth stored');
    assert.deepEqual(
      (await stored(s.api, s.channelId)).map((r) => r.text),
      ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'],
    );
    await c.endAsync();
  });
});

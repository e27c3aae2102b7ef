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

describe('gateway store-and-forward: the uplink cut under load', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    // A low forwarding rate, so the backlog visibly drains at it after the outage.
    g = await startGateway(t, s.api, s.siteId, {
      uplink: { ratePerSecond: 400, batchMessages: 50 },
    });
  });
  after(async () => {
    await g?.stop();
    await t?.close();
  });

  it('acknowledges devices while the hub is down; afterwards nothing is lost, doubled or reordered', async () => {
    const devs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        enrollDevice(t, s.api, `load-${i}`, { locationId: s.siteId, channelId: s.channelId }),
      ),
    );
    await g.gateway.sync.syncNow();
    const clients = await Promise.all(devs.map((d) => connectDevice(g, d)));
    const sent = devs.map(() => 0);
    let stop = false;
    const load = clients.map(async (c, i) => {
      const until = Date.now() + 20_000; // bounded in time as well
      // Bounded in count too: the backlog drains at 400/s, so at most 8,000 take ~20 s.
      while (!stop && Date.now() < until && sent[i]! < 2_000) {
        await c.publishAsync(`channels/${s.channelId}/messages/load`, `d${i}:${sent[i]}`, {
          qos: 1,
        });
        sent[i]!++;
      }
    });
    await new Promise((r) => setTimeout(r, 1_500));
    await t.stop(); // the uplink is cut: the hub's listeners are gone
    const before = sent.reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, 4_000));
    const during = sent.reduce((a, b) => a + b, 0) - before;
    assert.ok(during > 0, 'devices were acknowledged while the hub was down');
    assert.ok(g.gateway.status().queue.messages > 0, 'and the gateway holds the backlog');
    await t.restart();
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await Promise.all(load);
    await Promise.all(clients.map((c) => c.endAsync()));
    const total = sent.reduce((a, b) => a + b, 0);
    await waitFor(() => g.gateway.status().queue.messages === 0, 'the backlog drained', 120_000);
    const rows = await stored(s.api, s.channelId);
    assert.equal(rows.length, total, 'every acknowledged message is stored exactly once');
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    devs.forEach((d, i) => {
      const mine = rows.filter((r) => r.device === d.deviceId).map((r) => r.text);
      assert.deepEqual(
        mine,
        Array.from({ length: sent[i]! }, (_, n) => `d${i}:${n}`),
      );
    });
  });
});

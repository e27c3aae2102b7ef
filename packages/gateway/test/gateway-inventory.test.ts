/**
 * The site inventory end to end: real mDNS announcers (the agent's) on loopback, on a UDP port of
 * this test's own (never 5353, never a real LAN), a real gateway scanning for them and a real hub
 * receiving what changed as the gateway's device events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { MdnsAnnouncer } from '@bulwark/agent';
import {
  enrollDevice,
  setupOrg,
  startGateway,
  startTestHub,
  waitFor,
  type RunningGateway,
  type TestHub,
} from './helpers.js';

/** A free UDP port for this test's mDNS (announcers and the scan must share one). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('gateway site inventory from mDNS announcements', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let g: RunningGateway;
  let mdnsPort: number;
  const announcers = new Set<MdnsAnnouncer>();

  const announce = async (deviceId: string, fw: string) => {
    const a = new MdnsAnnouncer({
      deviceId,
      deviceType: 'sensor',
      firmwareVersion: fw,
      port: 8443,
      interface: '127.0.0.1',
      mdnsPort,
    });
    await a.start();
    announcers.add(a);
    return a;
  };
  const silence = async (a: MdnsAnnouncer) => {
    announcers.delete(a);
    await a.stop();
  };
  const events = async () => {
    const page = await s.api.call('listDeviceEvents', {
      params: { id: g.deviceId },
      query: { limit: 100 },
    });
    return page.items
      .filter((e) => e.kind.startsWith('site.'))
      .map((e) => ({ kind: e.kind, detail: e.detail }));
  };
  const has = async (kind: string, deviceId: string) =>
    (await events()).find((e) => e.kind === kind && e.detail['deviceId'] === deviceId);

  before(async () => {
    mdnsPort = await freeUdpPort();
    t = await startTestHub();
    s = await setupOrg(t);
    g = await startGateway(t, s.api, s.siteId, {
      inventory: {
        interface: '127.0.0.1',
        mdnsPort,
        intervalSeconds: 3600, // the test drives the rounds after the first
        listenMs: 1500,
        missedRounds: 2,
      },
    });
    await waitFor(() => (g.gateway.inventory?.rounds ?? 0) >= 1, 'the first scan round');
  });
  after(async () => {
    for (const a of announcers) await a.stop();
    await g?.stop();
    await t?.close();
  });

  it('reports site devices and strangers appearing, a firmware change and a device gone', async () => {
    const site = await enrollDevice(t, s.api, 'lan-sensor', { locationId: s.siteId });
    await g.gateway.sync.syncNow();
    const inv = g.gateway.inventory!;
    let a = await announce(site.deviceId, '1.0.0');
    await announce('01934f6e-0000-7000-8000-00000000beef', '6.6.6');
    await inv.scanOnce();
    assert.deepEqual(
      inv.inventory.list().map((e) => [e.id, e.known]),
      [
        ['01934f6e-0000-7000-8000-00000000beef', false],
        [site.deviceId, true],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    await waitFor(
      async () =>
        (await has('site.unknown_device', '01934f6e-0000-7000-8000-00000000beef')) !== undefined,
      'the stranger reported',
    );
    const appeared = await has('site.device_appeared', site.deviceId);
    assert.ok(appeared, 'the site device reported');
    assert.equal(appeared.detail['known'], true);
    assert.equal(appeared.detail['firmwareVersion'], '1.0.0');
    assert.equal(g.gateway.status().inventory?.unknown, 1);

    // The device comes back with new firmware: one firmware_changed, not a new appearance.
    await silence(a);
    a = await announce(site.deviceId, '1.1.0');
    await inv.scanOnce();
    await waitFor(
      async () => (await has('site.firmware_changed', site.deviceId)) !== undefined,
      'the firmware change reported',
    );
    const changed = await has('site.firmware_changed', site.deviceId);
    assert.equal(changed!.detail['previous'], '1.0.0');
    assert.equal(changed!.detail['firmwareVersion'], '1.1.0');
    assert.equal(
      (await events()).filter(
        (e) => e.kind === 'site.device_appeared' && e.detail['deviceId'] === site.deviceId,
      ).length,
      1,
    );

    // Silent for two rounds: gone.
    await silence(a);
    await inv.scanOnce();
    assert.equal(
      await has('site.device_disappeared', site.deviceId),
      undefined,
      'one missed round is not gone',
    );
    await inv.scanOnce();
    await waitFor(
      async () => (await has('site.device_disappeared', site.deviceId)) !== undefined,
      'the device reported gone',
    );
    assert.ok(!inv.inventory.list().some((e) => e.id === site.deviceId));
  });
});

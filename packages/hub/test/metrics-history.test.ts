/**
 * A device's health history (issue 15 item 3, decision 0038 third amendment of 2026-12-07): the
 * metrics reports a device publishes are kept and answered in time buckets with avg/min/max per
 * series; another organization's device is not found; bad parameters get problem+json; a device
 * reporting faster than the interval has one report kept per interval; retention deletes by age.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { deviceTopic } from '@bulwark/protocol';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';

const GIB = 2 ** 30;
const report = (cpu: number, memUsed: number, diskUsed: number, connections = 3) =>
  JSON.stringify({
    at: new Date().toISOString(),
    cpuPercent: cpu,
    memory: { totalBytes: 4 * GIB, availableBytes: 4 * GIB * (1 - memUsed / 100) },
    disk: { totalBytes: 100 * GIB, availableBytes: 100 * GIB * (1 - diskUsed / 100) },
    uptimeSeconds: 100,
    network: { rxBytes: 1, txBytes: 2 },
    listeningPorts: [22],
    connections,
  });

describe('device health history', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let device: { id: string; key: string };
  let c: MqttClient;
  let t0: number;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    const d = await s.api.devices.create({ name: 'pump-1', type: 'pump' });
    device = { id: d.id, key: (await s.api.devices.createKey(d.id)).key };
    c = await connectTls(t, { clientId: d.id, username: d.id, password: device.key });
    // Whole minutes from here: buckets of 1m start at t0, t0 + 60 s …
    t0 = t.clock.now();
  });
  after(async () => {
    c.end(true);
    await t.close();
  });

  const send = async (body: string) =>
    assert.equal(await publish(c, deviceTopic.metrics(device.id), body), 0);

  it('keeps each report and answers buckets with avg/min/max per series', async () => {
    // Minute 0: two reports 30 s apart; minute 1: none (a gap); minute 2: one.
    await send(report(10, 50, 20, 2));
    t.clock.advance(30_000);
    await send(report(30, 70, 20, 4));
    t.clock.advance(90_000);
    await send(report(95.5, 60, 21));
    await t.hub.services.metricsHistory.flush();
    const h = await s.api.devices.metricsHistory(device.id, {
      from: new Date(t0).toISOString(),
      to: new Date(t0 + 180_000).toISOString(),
      bucket: '1m',
    });
    assert.equal(h.bucketSeconds, 60);
    assert.deepEqual(
      h.buckets.map((b) => [Date.parse(b.start) - t0, b.count]),
      [
        [0, 2],
        [120_000, 1],
      ],
    );
    const [m0, m2] = h.buckets;
    assert.deepEqual(m0!.cpu, { avg: 20, min: 10, max: 30 });
    assert.deepEqual(m0!.memory, { avg: 60, min: 50, max: 70 });
    assert.deepEqual(m0!.disk, { avg: 20, min: 20, max: 20 });
    assert.deepEqual(m0!.connections, { avg: 3, min: 2, max: 4 });
    assert.deepEqual(m2!.cpu, { avg: 95.5, min: 95.5, max: 95.5 });
    // One bucket over the whole range: every report.
    const all = await s.api.devices.metricsHistory(device.id, {
      from: new Date(t0).toISOString(),
      to: new Date(t0 + 180_000).toISOString(),
      bucket: '3m',
    });
    assert.equal(all.buckets.length, 1);
    assert.equal(all.buckets[0]!.count, 3);
    assert.equal(all.buckets[0]!.cpu.max, 95.5);
    // The default: the last hour up to now, in 1-minute buckets.
    const last = await s.api.devices.metricsHistory(device.id);
    assert.equal(last.bucketSeconds, 60);
    assert.equal(Date.parse(last.to) - Date.parse(last.from), 3_600_000);
    assert.equal(Date.parse(last.to), t.clock.now() + 1, 'up to now, now included');
    assert.equal(
      last.buckets.reduce((n, b) => n + b.count, 0),
      3,
    );
  });

  it('keeps one report per interval from a device reporting faster (a flood stores nothing more)', async () => {
    t.clock.advance(60_000);
    const from = t.clock.now();
    for (let i = 0; i < 20; i++) {
      await send(report(50, 50, 50));
      t.clock.advance(100); // 20 reports in 2 s
    }
    await t.hub.services.metricsHistory.flush();
    const h = await s.api.devices.metricsHistory(device.id, {
      from: new Date(from).toISOString(),
      to: new Date(from + 60_000).toISOString(),
    });
    assert.equal(
      h.buckets.reduce((n, b) => n + b.count, 0),
      1,
    );
  });

  it('another organization’s device is not found; bad parameters are problem+json 400', async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const login = await t
      .client()
      .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id });
    const other = await raw(
      t,
      'GET',
      `/devices/${device.id}/metrics/history`,
      undefined,
      login.accessToken,
    );
    assert.equal(other.status, 404);
    assert.equal(other.json['code'], 'not_found');
    const from = new Date(t0).toISOString();
    const later = new Date(t0 + 3_600_000).toISOString();
    for (const [q, what, code] of [
      [`from=${later}&to=${from}`, 'reversed range', 'validation_failed'],
      [`from=${from}&to=${later}&bucket=5s`, 'bucket under 10 s', 'validation_failed'],
      [`from=${from}&to=${later}&bucket=1x`, 'unknown unit', 'validation_failed'],
      [
        `from=${from}&to=${new Date(t0 + 30 * 86_400_000).toISOString()}&bucket=1m`,
        'too many buckets',
        'validation_failed',
      ],
      ['from=yesterday', 'not a time', 'validation_failed'],
      ['limit=5', 'unknown parameter', 'unknown_field'],
    ] as const) {
      const r = await raw(
        t,
        'GET',
        `/devices/${device.id}/metrics/history?${q}`,
        undefined,
        s.apiKey,
      );
      assert.equal(r.status, 400, what);
      assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/, what);
      assert.equal(r.json['code'], code, what);
    }
  });

  it('retention deletes reports older than the configured days', async () => {
    const svc = t.hub.services.metricsHistory;
    t.clock.advance(8 * 86_400_000);
    await send(report(1, 1, 1));
    await svc.flush();
    const deleted = await svc.prune();
    assert.equal(deleted, 4, 'the four reports of a week ago');
    const h = await s.api.devices.metricsHistory(device.id, {
      from: new Date(t0).toISOString(),
      to: new Date(t.clock.now() + 1).toISOString(),
      bucket: '1d',
    });
    assert.equal(
      h.buckets.reduce((n, b) => n + b.count, 0),
      1,
    );
  });
});

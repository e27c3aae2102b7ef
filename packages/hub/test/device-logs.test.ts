/**
 * Central device logs in the hub (decision 0032): the follow long poll woken by a write, the
 * regular-expression scan bound and its cursor, a refused query, and retention by rows per device
 * and by age (the per-node prune).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceLogService } from '@bulwark/core';
import type { DeviceLogRecord } from '@bulwark/protocol';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

const rec = (i: number, message = `line ${i}`): DeviceLogRecord => ({
  ts: new Date(1_733_500_000_000 + i).toISOString(),
  level: i % 2 === 0 ? 'info' : 'error',
  source: 'app',
  message,
});

describe('device logs in the hub', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const device = async (name: string) => (await s.api.devices.create({ name, type: 'sensor' })).id;
  const ingest = (deviceId: string, records: DeviceLogRecord[]) =>
    t.hub.services.deviceLogs.ingest(s.orgId, deviceId, { records });

  before(async () => {
    // No row limit on the hub itself: its minute's prune pass must not race the regex test.
    t = await startTestHub(['--log-max-rows-per-device', '0']);
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('follow answers as soon as a record is stored, and continues from `last`', async () => {
    const id = await device('follow-1');
    await ingest(id, [rec(0, 'before')]);
    const started = Date.now();
    const waiting = s.api.devices.followLogs(id, { wait: 10 });
    setTimeout(() => void ingest(id, [rec(1, 'new one')]), 200);
    const r = await waiting;
    assert.deepEqual(
      r.items.map((i) => i.message),
      ['new one'],
      'from now on: not the record before',
    );
    assert.ok(Date.now() - started < 2000, 'woken by the write, not by the timeout');
    assert.equal(r.last, r.items[0]!.id);
    const idle = await s.api.devices.followLogs(id, { after: r.last, wait: 0 });
    assert.deepEqual(idle, { items: [], last: r.last });
    await ingest(id, [rec(3, 'x'), rec(4, 'y')]);
    const errors = await s.api.devices.followLogs(id, { after: r.last, level: 'error', wait: 0 });
    assert.deepEqual(
      errors.items.map((i) => i.message),
      ['x'],
    );
  });

  it('a regular expression scans at most the bound per request and hands back a cursor', async () => {
    const id = await device('regex-1');
    for (let b = 0; b < 11; b++)
      await ingest(
        id,
        Array.from({ length: 500 }, (_, i) => rec(b * 500 + i, `noise ${b * 500 + i}`)),
      );
    await ingest(id, [rec(9999, 'the needle 42')]);
    const first = await s.api.devices.logs(id, {
      grep: 'needle \\d+',
      regex: true,
      order: 'oldest',
    });
    assert.deepEqual(first.items, [], '5,000 records scanned, no match yet');
    assert.ok(first.nextCursor);
    const second = await s.api.devices.logs(id, {
      grep: 'needle \\d+',
      regex: true,
      order: 'oldest',
      cursor: first.nextCursor,
    });
    assert.deepEqual(
      second.items.map((i) => i.message),
      ['the needle 42'],
    );
    assert.equal(second.nextCursor, null);
    const sub = await s.api.devices.logs(id, { grep: 'NEEDLE', limit: 5 });
    assert.equal(sub.items.length, 1, 'a substring is case-insensitive');
  });

  it('refuses a query it cannot run, saying why', async () => {
    const id = await device('refuse-1');
    const q = (query: string) => raw(t, 'GET', `/devices/${id}/logs?${query}`, undefined, s.apiKey);
    const backwards = await q('since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z');
    assert.equal(backwards.status, 400);
    assert.equal(backwards.json['code'], 'log_query_invalid');
    const lookbehind = await q(`grep=${encodeURIComponent('(?<=a)b')}&regex=true`);
    assert.equal(lookbehind.json['code'], 'log_query_invalid');
    assert.match(String(lookbehind.json['detail']), /linear-time/);
    assert.equal((await q('level=loud')).status, 400);
    const unknownDevice = await raw(
      t,
      'GET',
      '/devices/0190a000-0000-7000-8000-000000000000/logs',
      undefined,
      s.apiKey,
    );
    assert.equal(unknownDevice.status, 404);
  });

  it('retention: rows per device (newest kept) and age, by the prune pass', async () => {
    const id = await device('prune-1');
    // The service as the hub builds it, on the hub's storage and clock, with tight limits.
    const logs = new DeviceLogService({
      store: t.hub.storage.deviceLogs,
      devices: t.hub.services.devices,
      clock: t.clock,
      config: { retentionDays: 3, maxRowsPerDevice: 10 },
    });
    await logs.ingest(s.orgId, id, {
      records: Array.from({ length: 25 }, (_, i) => rec(i)),
    });
    await logs.prune();
    const left = (await s.api.devices.logs(id, { order: 'oldest', limit: 100 })).items;
    assert.deepEqual(
      left.map((r) => r.message),
      Array.from({ length: 10 }, (_, i) => `line ${15 + i}`),
    );
    t.clock.advance(3 * 86_400_000 + 1000);
    await logs.ingest(s.orgId, id, { records: [rec(100, 'fresh')] });
    const r = await logs.prune();
    assert.ok(r.expired >= 10);
    assert.deepEqual(
      (await s.api.devices.logs(id)).items.map((x) => x.message),
      ['fresh'],
    );
  });
});

/**
 * Bulk registration over the API (decision 0027): every row is checked before anything is written
 * and a refusal lists every bad row; otherwise all devices and their enrollment tokens are created
 * in one transaction, and each device enrolls later with a key it generated itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('device import over the API', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let api: BulwarkClient;
  let hallId: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    api = s.api;
    await api.devices.create({ name: 'existing-1', type: 'esp32' });
    const site = await api.locations.create({ name: 'Plant', kind: 'site' });
    hallId = (await api.locations.create({ name: 'Hall A', kind: 'building', parentId: site.id }))
      .id;
    await api.locations.create({ name: 'Twin', kind: 'building', parentId: site.id });
    await api.locations.create({ name: 'Twin', kind: 'building', parentId: site.id });
  });
  after(() => t.close());

  const count = async () => {
    let n = 0;
    for await (const _ of api.devices.all({ limit: 500 })) n++;
    return n;
  };

  it('refuses the whole import with a reason per bad row and writes nothing', async () => {
    const before = await count();
    const res = await raw(
      t,
      'POST',
      '/devices/import',
      {
        devices: [
          { name: 'ok-1', type: 'esp32', location: 'Hall A' },
          { type: 'esp32' },
          { name: 'bad name', type: 'esp32' },
          { name: 'dup', type: 'esp32' },
          { name: 'dup', type: 'esp32' },
          { name: 'existing-1', type: 'esp32' },
          { name: 'typo-1', type: 'esp23' },
          { name: 'loc-1', type: 'esp32', location: 'Nowhere' },
          { name: 'loc-2', type: 'esp32', location: 'Twin' },
          { name: 'extra-1', type: 'esp32', colour: 'red' },
          { name: 'tags-1', type: 'esp32', tags: 'a;b' },
        ],
      },
      s.apiKey,
    );
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json['code'], 'import_invalid');
    assert.match(String(res.json['detail']), /9 of 11 rows are invalid; nothing was written/);
    const rows = res.json['rows'] as { row: number; name: string | null; errors: string[] }[];
    const why = (row: number) => rows.find((r) => r.row === row)?.errors.join(' | ') ?? '';
    assert.equal(why(1), '');
    assert.match(why(2), /"row.name" is required|name/);
    assert.match(why(3), /name/);
    assert.match(why(5), /also on row 4/);
    assert.match(why(6), /a device named 'existing-1' already exists/);
    assert.match(why(7), /unknown type 'esp23'.*--new-type esp23/);
    assert.match(why(8), /unknown location 'Nowhere'/);
    assert.match(why(9), /location name 'Twin' is ambiguous/);
    assert.match(why(10), /unknown field/);
    assert.match(why(11), /tags/);
    assert.equal(await count(), before);
  });

  it('creates every row with its token in one request; each device enrolls with its own key', async () => {
    const out = await api.provisioning.importDevices({
      devices: [
        { name: 'imp-1', type: 'esp32', tags: ['line:1'], location: 'Hall A' },
        { name: 'imp-2', type: 'rpi5', location: hallId, mode: 'autonomous' },
      ],
      newTypes: ['rpi5'],
      tokenTtlSeconds: 7 * 86_400,
    });
    assert.deepEqual(
      out.devices.map((d) => [d.row, d.name]),
      [
        [1, 'imp-1'],
        [2, 'imp-2'],
      ],
    );
    const d1 = await api.devices.get(out.devices[0]!.id);
    assert.equal(d1.state, 'provisioned');
    assert.equal(d1.locationId, hallId);
    assert.deepEqual(d1.tags, ['line:1']);
    assert.ok(Date.parse(out.devices[0]!.expiresAt) - Date.now() > 6 * 86_400_000);
    const { csrPem } = await generateDeviceKeyAndCsr();
    const issued = await t.client().enroll({ token: out.devices[1]!.token, csr: csrPem });
    assert.equal(issued.deviceId, out.devices[1]!.id);
    // The audit log counts the devices and never holds a token.
    const [row] = (await api.audit.list({ action: 'importDevices', limit: 1 })).items;
    assert.equal(row?.result, 'success');
    assert.equal((row?.detail as { created?: number }).created, 2);
    assert.doesNotMatch(JSON.stringify(row), /bwe_/);
  });

  it('1,000 rows in one request; 1,001 are refused by the schema', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      name: `bulk-${String(i).padStart(4, '0')}`,
      type: 'esp32',
      tags: ['batch:7', 'line:2'],
    }));
    const t0 = Date.now();
    const out = await api.provisioning.importDevices({ devices: rows });
    assert.equal(out.devices.length, 1000);
    assert.equal(new Set(out.devices.map((d) => d.token)).size, 1000);
    assert.ok(Date.now() - t0 < 60_000);
    const tooMany = await raw(
      t,
      'POST',
      '/devices/import',
      { devices: [...rows, { name: 'one-more', type: 'esp32' }] },
      s.apiKey,
    );
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.json['code'], 'validation_failed');
  });

  it('needs devices:manage', async () => {
    const { key } = await s.owner.apiKeys.create({ name: 'ro', permissions: ['devices:read'] });
    const res = await raw(
      t,
      'POST',
      '/devices/import',
      { devices: [{ name: 'ro-1', type: 'esp32' }] },
      key,
    );
    assert.equal(res.status, 403);
  });
});

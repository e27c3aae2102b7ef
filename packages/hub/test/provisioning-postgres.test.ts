/**
 * Fleet provisioning on the real PostgreSQL with two hub nodes sharing it (decision 0027): a
 * 1,000-row import in one transaction, and claims racing on both nodes — a claim never provisions
 * more than its count, and a hardware id claimed at once on both nodes with two keys goes to one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('provisioning on PostgreSQL, two nodes', { skip }, () => {
  const schema = schemas.next();
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;

  before(async () => {
    const db = ['--database', schemas.url, '--database-schema', schema];
    a = await startTestHub(db);
    b = await startTestHub([...db, '--master-key-file', join(a.dir, 'master.key')]);
    s = await setupOwner(b);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('imports 1,000 devices in one request; a clash with a name writes none', async () => {
    const api = a.client(s.apiKey);
    const rows = Array.from({ length: 1000 }, (_, i) => ({ name: `pg-${i}`, type: 'esp32' }));
    const out = await api.provisioning.importDevices({ devices: rows, newTypes: ['esp32'] });
    assert.equal(out.devices.length, 1000);
    let n = 0;
    for await (const _ of b.client(s.apiKey).devices.all({ q: 'pg-', limit: 500 })) n++;
    assert.equal(n, 1000);
    const again = await api.provisioning
      .importDevices({ devices: [{ name: 'pg-new', type: 'esp32' }, rows[5]!] })
      .catch((e: { code: string }) => e);
    assert.equal((again as { code: string }).code, 'import_invalid');
  });

  it('claims racing on both nodes never exceed the count nor share a hardware id', async () => {
    const { claim, token } = await a.client(s.apiKey).provisioning.createClaim({
      name: 'race',
      template: { type: 'esp32' },
      maxDevices: 10,
      ttlSeconds: 3600,
    });
    const csrs = await Promise.all(
      Array.from({ length: 24 }, async () => (await generateDeviceKeyAndCsr()).csrPem),
    );
    const results = await Promise.allSettled(
      csrs.map((csr, i) =>
        (i % 2 === 0 ? a : b).client().provisioning.claim({
          token,
          // pairs of attempts share a hardware id, each with its own key, one on each node
          hardwareId: `R-${Math.floor(i / 2)}`,
          csr,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 10);
    const refused = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as { code: string }).code] : [],
    );
    assert.ok(
      refused.every((c) => c === 'claim_exhausted' || c === 'hardware_id_claimed'),
      refused.join(','),
    );
    const hw = ok.map((r) => (r as PromiseFulfilledResult<{ deviceId: string }>).value.deviceId);
    assert.equal(new Set(hw).size, 10);
    assert.equal((await b.client(s.apiKey).provisioning.getClaim(claim.id)).usedCount, 10);
  });
});

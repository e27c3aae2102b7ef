/**
 * The hub on the real PostgreSQL: the whole API path, the audit chain verified (and tampering
 * detected) against PostgreSQL, and two hub nodes sharing one database and master key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { runLocalCommand } from '@bulwark/hub';
import { PASSWORD, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('the hub on PostgreSQL', { skip }, () => {
  const schema = schemas.next();
  const keyDir = mkdtempSync(join(tmpdir(), 'bulwark-cluster-'));
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;

  before(async () => {
    const db = ['--database', schemas.url, '--database-schema', schema];
    a = await startTestHub(db);
    // A second node shares the database and the master key (so it opens the sealed CA keys and
    // verifies the first node's access tokens).
    b = await startTestHub([...db, '--master-key-file', join(a.dir, 'master.key')]);
    s = await setupOwner(b); // the last node started holds the live setup token
  });
  after(async () => {
    await b?.close();
    await a?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('serves devices, enrollment and audit from PostgreSQL on both nodes', async () => {
    const device = await a.client(s.apiKey).devices.create({ name: 'pg-device', type: 'rpi4' });
    const onB = b.client(s.apiKey);
    assert.equal((await onB.devices.get(device.id)).name, 'pg-device');
    const { token } = await onB.devices.createEnrollmentToken(device.id, {});
    const issued = await a
      .client()
      .enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem });
    assert.equal(issued.deviceId, device.id);
    // the same org CA on both nodes
    assert.equal((await onB.pki.caBundle()).issuing, issued.chain[0]);
    // a token minted on node A works on node B
    const tokens = await a.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    assert.equal((await b.client(tokens.accessToken).me()).role, 'owner');
    await rejectsWith(
      b.client().enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem }),
      'enrollment_token_used',
    );
  });

  it('audit verify walks the PostgreSQL chain and names an edited row', async () => {
    const verify = () =>
      runLocalCommand([
        'audit',
        'verify',
        '--data-dir',
        a.dir,
        '--database',
        schemas.url,
        '--database-schema',
        schema,
        '--json',
      ]);
    assert.equal(await verify(), 0);
    const client = new pg.Client({ connectionString: schemas.url });
    await client.connect();
    try {
      await client.query(
        `UPDATE "${schema}".audit_events SET actor_id = 'someone-else' WHERE seq = 2`,
      );
    } finally {
      await client.end();
    }
    assert.equal(await verify(), 1);
    const v = await a.hub.services.audit.verify();
    assert.equal(!v.ok && v.seq, 2);
  });

  it('refuses a master key that cannot open the sealed CA keys', async () => {
    assert.match(readFileSync(join(a.dir, 'master.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
    // Refused at start by the database's check value of the key (decision 0021), before the CA
    // keys are ever tried.
    await assert.rejects(
      startTestHub(['--database', schemas.url, '--database-schema', schema]),
      /is not the key of the cluster's database/,
    );
  });
});

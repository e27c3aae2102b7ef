/**
 * A rollout with two hub nodes on one PostgreSQL (decision 0011): both tick at the same moments,
 * one holds the rollout's lease and steps it, and maxConcurrent holds across the cluster.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive, firmwarePublisher } from './rollout-helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('a rollout across two hub nodes on one PostgreSQL', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('one node steps it at a time; maxConcurrent holds for the cluster', async () => {
    const shared = [
      '--database',
      schemas.url,
      '--database-schema',
      schemas.next(),
      '--rollout-tick-ms',
      '60000',
    ];
    a = await startTestHub(shared);
    b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
    const s = await setupOwner(b);
    const fw = await firmwarePublisher(s.owner);
    const artifact = await fw.publish('2.0.0', ['gateway'], 2);
    for (let i = 0; i < 6; i++)
      await s.api.devices.create({ name: `c-${i}`, type: 'gateway', firmwareVersion: '1.0.0' });
    const r = await s.owner.rollouts.create({
      artifactId: artifact.id,
      target: { type: 'gateway' },
      maxConcurrent: 2,
    });
    const jobs = () => b.hub.storage.updateJobs.list(s.orgId, { rolloutId: r.id, limit: 100 });
    const both = async () => {
      const [x, y] = await Promise.all([a.hub.rolloutRunner.tick(), b.hub.rolloutRunner.tick()]);
      return [x.stepped, y.stepped];
    };

    for (let i = 0; i < 3; i++) {
      const stepped = await both();
      assert.equal(stepped[0]! + stepped[1]!, 1, `one node steps it (${stepped.join(',')})`);
    }
    const first = await jobs();
    assert.equal(first.length, 2);
    for (const j of first)
      await drive(b, j, ['delivered', 'installing', 'rebooting', 'succeeded'], {
        version: '2.0.0',
      });
    await both();
    const second = await jobs();
    assert.equal(second.length, 4);
    assert.equal(second.filter((j) => j.state !== 'succeeded').length, 2);
  });
});

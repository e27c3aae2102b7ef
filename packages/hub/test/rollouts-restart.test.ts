/**
 * Rollout leases across a clean restart (decision 0011): a hub that stops cleanly (SIGTERM →
 * `hub.stop()`) hands back its tick leases, so the hub restarted on the same data dir steps the
 * running rollout at once instead of after the 30 s lease expires. A node that dies without
 * stopping still holds its lease until it runs out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setupOwner, startTestHub } from './helpers.js';
import { firmwarePublisher } from './rollout-helpers.js';

describe('rollout leases on restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-rollout-restart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // The timer is slow: the tests step the rollouts themselves.
  const slow = ['--rollout-tick-ms', '60000'];

  it('a restarted hub steps the running rollout at once; a dead holder blocks it until expiry', async () => {
    const first = await startTestHub(slow, { dir });
    let orgId: string;
    let rolloutId: string;
    try {
      const s = await setupOwner(first);
      orgId = s.orgId;
      const pub = await firmwarePublisher(s.owner);
      const a = await pub.publish('2.0.0', ['gateway'], 2);
      for (const name of ['r-1', 'r-2', 'r-3']) {
        await s.api.devices.create({ name, type: 'gateway', firmwareVersion: '1.0.0' });
      }
      const r = await s.owner.rollouts.create({
        artifactId: a.id,
        target: { type: 'gateway' },
        maxConcurrent: 1,
      });
      rolloutId = r.id;
      assert.deepEqual(await first.hub.rolloutRunner.tick(), { stepped: 1, started: 1 });
    } finally {
      await first.close();
    }

    const second = await startTestHub(slow, { dir });
    try {
      // Without the released lease this would be { stepped: 0 } for the next 30 s.
      assert.deepEqual(await second.hub.rolloutRunner.tick(), { stepped: 1, started: 0 });

      // A node that dies holds its lease: nothing is stepped until the lease runs out.
      const now = second.clock.now();
      const rollouts = second.hub.storage.rollouts;
      assert.equal(await second.hub.services.rollouts.releaseLeases(), 1);
      assert.equal(await rollouts.lease(orgId, rolloutId, 'dead-node', now, now + 30_000), true);
      assert.equal((await second.hub.rolloutRunner.tick()).stepped, 0);
      second.clock.advance(30_001);
      assert.equal((await second.hub.rolloutRunner.tick()).stepped, 1);
    } finally {
      await second.close();
    }
  });
});

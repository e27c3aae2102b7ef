/**
 * An auto-upgrade policy across two hub nodes on one PostgreSQL (issue 13, decision 0011): the
 * nodes tick and take call-home reports at the same moments, and the policy's maxConcurrent holds
 * for the cluster — only the node holding its lease starts jobs; another takes over when the lease
 * lapses.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTerminalUpdateState } from '@bulwark/protocol';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive, firmwarePublisher } from './rollout-helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe(
  'an auto-upgrade policy across two hub nodes on one PostgreSQL',
  { skip, timeout: 120_000 },
  () => {
    let a: TestHub;
    let b: TestHub;
    let aClosed = false;
    after(async () => {
      await b?.close();
      if (!aClosed) await a?.close();
    });

    it('maxConcurrent holds for the cluster under simultaneous ticks and call-homes', async () => {
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
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const d = await s.api.devices.create({
          name: `c-${i}`,
          type: 'gateway',
          firmwareVersion: '1.0.0',
        });
        const now = a.clock.now();
        await a.hub.storage.presence.put({
          orgId: s.orgId,
          deviceId: d.id,
          online: true,
          mode: null,
          since: now,
          lastSeenAt: now,
          sessionId: `session-${d.id}`,
          metrics: null,
        });
        ids.push(d.id);
      }
      const jobs = () =>
        b.hub.storage.updateJobs.list(s.orgId, { artifactId: artifact.id, limit: 100 });
      const inFlight = async () => (await jobs()).filter((j) => !isTerminalUpdateState(j.state));
      /** Both nodes tick, and every device calls home (with what it runs) on both, all at once. */
      const storm = async () => {
        const running = await Promise.all(
          ids.map(async (id) => (await s.api.devices.get(id)).firmwareVersion ?? '1.0.0'),
        );
        const reports = ids.flatMap((id, i) =>
          [a, b].map((n) =>
            n.hub.services.firmwarePolicies.deviceReported(s.orgId, id, { version: running[i]! }),
          ),
        );
        await Promise.all([a.hub.rolloutRunner.tick(), b.hub.rolloutRunner.tick(), ...reports]);
      };

      // Set on node A: it leases the policy and starts two.
      const p = await a.client(s.tokens.accessToken).firmware.policies.set('gateway', artifact.id, {
        maxConcurrent: 2,
      });
      assert.equal(p.progress.inFlight, 2);
      for (let round = 0; round < 2; round++) {
        await storm();
        assert.equal((await inFlight()).length, 2, `round ${round}: two in flight, not more`);
      }
      assert.equal((await jobs()).length, 2);

      // Both finish: the next storm starts exactly two more, whoever holds the lease.
      for (const j of await inFlight())
        await drive(b, j, ['delivered', 'installing', 'rebooting', 'succeeded'], {
          version: '2.0.0',
        });
      await storm();
      await storm();
      assert.equal((await inFlight()).length, 2);
      assert.equal((await jobs()).length, 4);

      // Node A stops: its lease goes with it, and node B starts the next ones alone.
      for (const j of await inFlight())
        await drive(b, j, ['delivered', 'installing', 'rebooting', 'succeeded'], {
          version: '2.0.0',
        });
      await a.close();
      aClosed = true;
      const stepped = await b.hub.rolloutRunner.tick();
      assert.equal(stepped.started, 2, JSON.stringify(stepped));
      assert.equal((await inFlight()).length, 2);
      const status = await s.owner.firmware.policies.get('gateway');
      assert.deepEqual(
        [status.progress.inFlight, status.progress.succeeded, status.progress.failed],
        [2, 4, 0],
      );
    });
  },
);

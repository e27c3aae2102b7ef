/**
 * Update jobs across two hub nodes on one PostgreSQL: a job deployed on node B is offered to a
 * device connected to node A by A's sweep, a cancel asked on B reaches it the same way (and the
 * device confirms it), and two
 * deployments racing on both nodes leave the device with exactly one open job.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { eventually, publisher, updateDevice } from './updates-helpers.js';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('update jobs across two hub nodes on one PostgreSQL', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('offers and cancels reach a device on the other node; one open job per device', async () => {
    const shared = ['--database', schemas.url, '--database-schema', schemas.next()];
    a = await startTestHub(shared);
    b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
    const s = await setupOwner(b);
    const fw = await publisher(s.owner);
    const { artifact } = await fw.artifact('2.0.0', ['gateway']);
    const d = await s.owner.devices.create({ name: 'roamer-gw', type: 'gateway' });
    const dev = await updateDevice(a, {
      id: d.id,
      key: (await s.owner.devices.createKey(d.id)).key,
    });
    try {
      const j = await s.owner.updates.deploy(d.id, artifact.id);
      await a.hub.brokers.devicePlane.sweep();
      assert.equal((await dev.next(j.id)).id, j.id);
      await eventually(
        async () => ((await s.owner.updates.get(j.id)).state === 'delivered' ? true : undefined),
        'delivered',
      );
      assert.equal(await dev.report(j.id, { state: 'downloading' }), 0);
      assert.equal((await s.owner.updates.get(j.id)).state, 'downloading');
      await s.owner.updates.cancel(j.id);
      await a.hub.brokers.devicePlane.sweep();
      assert.deepEqual(await dev.next(j.id, 'cancel'), { action: 'cancel', id: j.id });
      // A cancel after delivery is a request (decision 0015): the device confirms it.
      assert.equal(await dev.report(j.id, { state: 'canceled' }), 0);
      await eventually(
        async () => ((await s.owner.updates.get(j.id)).state === 'canceled' ? true : undefined),
        'canceled',
      );

      // Two deployments racing on both nodes: the database lets exactly one through.
      const ownerOnA = a.client(
        (await a.client().auth.login({ email: 'owner@example.com', password: PASSWORD }))
          .accessToken,
      );
      const results = await Promise.allSettled([
        s.owner.updates.deploy(d.id, artifact.id),
        ownerOnA.updates.deploy(d.id, artifact.id),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const refused = results.find((r) => r.status === 'rejected');
      assert.equal((refused?.reason as { code?: string }).code, 'update_job_open');
      const open = await s.owner.updates.list({ deviceId: d.id, state: 'queued' });
      const delivered = await s.owner.updates.list({ deviceId: d.id, state: 'delivered' });
      assert.equal(open.items.length + delivered.items.length, 1);
    } finally {
      dev.end();
    }
  });
});

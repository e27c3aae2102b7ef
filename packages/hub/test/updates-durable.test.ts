/**
 * Update jobs are in the database: a job deployed before a hub restart is offered after it, keeps
 * its history and action id, and finishes normally on the restarted hub.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { UpdateInstallOffer } from '@bulwark/protocol';
import { PASSWORD, setupOwner, startTestHub } from './helpers.js';
import { publisher, updateDevice } from './updates-helpers.js';

describe('durable update jobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-updates-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a job deployed before a hub restart is offered and finished after it', async () => {
    const first = await startTestHub([], { dir });
    let device: { id: string; key: string };
    let jobId: string;
    let actionId: number;
    try {
      const s = await setupOwner(first);
      const fw = await publisher(s.owner);
      const d = await s.owner.devices.create({ name: 'durable-gw', type: 'gateway' });
      device = { id: d.id, key: (await s.owner.devices.createKey(d.id)).key };
      const { artifact } = await fw.artifact('2.0.0', ['gateway']);
      const j = await s.owner.updates.deploy(d.id, artifact.id);
      jobId = j.id;
      actionId = j.actionId;
    } finally {
      await first.close();
    }
    const second = await startTestHub([], { dir });
    try {
      const tokens = await second
        .client()
        .auth.login({ email: 'owner@example.com', password: PASSWORD });
      const owner = second.client(tokens.accessToken);
      const before = await owner.updates.get(jobId);
      assert.equal(before.state, 'queued');
      assert.equal(before.actionId, actionId);
      const dev = await updateDevice(second, device);
      try {
        const offer = (await dev.next(jobId)) as UpdateInstallOffer;
        assert.equal(offer.id, jobId);
        assert.equal(await dev.report(jobId, { state: 'installing' }), 0);
        const installed = { type: 'gateway', version: '2.0.0', releaseCounter: 1 };
        assert.equal(await dev.report(jobId, { state: 'succeeded', installed }), 0);
      } finally {
        dev.end();
      }
      const done = await owner.updates.get(jobId);
      assert.equal(done.state, 'succeeded');
      assert.deepEqual(
        done.history.map((h) => h.state),
        ['queued', 'delivered', 'installing', 'succeeded'],
      );
      assert.equal((await owner.devices.get(device.id)).firmwareVersion, '2.0.0');
    } finally {
      await second.close();
    }
  });
});

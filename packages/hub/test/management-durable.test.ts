/**
 * The database is the durable command queue: a command queued before a hub restart is delivered
 * after it; and in a cluster, a command or desired change made on one node reaches a device
 * connected to another node through that node's sweep.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deviceTopic } from '@bulwark/protocol';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, nextMessages, publish, subscribe } from './mqtt-helpers.js';

/** A TestHub on a given data dir that is kept when the hub stops (for a restart). */
const hubOn = (dir: string): Promise<TestHub> => startTestHub([], { dir });

describe('durable command queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-mgmt-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a command queued before a hub restart is delivered after it', async () => {
    const first = await hubOn(dir);
    let device: { id: string; key: string };
    let commandId: string;
    let apiKey: string;
    try {
      const s = await setupOwner(first);
      apiKey = s.apiKey;
      const d = await s.api.devices.create({ name: 'durable', type: 'sensor' });
      device = { id: d.id, key: (await s.api.devices.createKey(d.id)).key };
      commandId = (
        await s.api.call('sendCommand', {
          params: { id: d.id },
          body: { name: 'update', params: { to: '2.0' } },
        })
      ).id;
      await s.api.call('patchDesired', { params: { id: d.id }, body: { patch: { v: 2 } } });
    } finally {
      await first.close();
    }
    const second = await hubOn(dir);
    try {
      const c = await connectTls(second, {
        clientId: device.id,
        username: device.id,
        password: device.key,
      });
      try {
        const got = nextMessages(c, 2);
        for (const f of deviceTopic.inbound(device.id)) await subscribe(c, f, 1);
        const msgs = await got;
        const byTopic = new Map(
          msgs.map((m) => [m.topic, JSON.parse(m.payload.toString()) as Record<string, unknown>]),
        );
        assert.equal(byTopic.get(deviceTopic.command(device.id, commandId))?.name, 'update');
        assert.deepEqual(byTopic.get(deviceTopic.desired(device.id)), {
          version: 1,
          state: { v: 2 },
        });
        assert.equal(
          await publish(
            c,
            deviceTopic.commandStatus(device.id, commandId),
            '{"state":"succeeded"}',
          ),
          0,
        );
        const api = second.client(apiKey);
        assert.equal(
          (await api.call('getCommand', { params: { id: commandId } })).state,
          'succeeded',
        );
      } finally {
        c.end(true);
      }
    } finally {
      await second.close();
    }
  });
});

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('device plane across two hub nodes on one PostgreSQL', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a command and a desired change made on node B reach a device on node A', async () => {
    const shared = ['--database', schemas.url, '--database-schema', schemas.next()];
    a = await startTestHub(shared);
    b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
    const s = await setupOwner(b);
    const d = await s.api.devices.create({ name: 'roamer', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    const c = await connectTls(a, { clientId: d.id, username: d.id, password: key });
    try {
      for (const f of deviceTopic.inbound(d.id)) await subscribe(c, f, 1);
      const got = nextMessages(c, 2);
      const cmd = await s.api.call('sendCommand', { params: { id: d.id }, body: { name: 'ping' } });
      await s.api.call('patchDesired', { params: { id: d.id }, body: { patch: { k: 'v' } } });
      // Node A learns of both in its sweep (on its timer within ~2 s; run one now).
      await a.hub.brokers.devicePlane.sweep();
      const topics = (await got).map((m) => m.topic).sort();
      assert.deepEqual(
        topics,
        [deviceTopic.command(d.id, cmd.id), deviceTopic.desired(d.id)].sort(),
      );
      // The device's status, taken in on node A, is what node B reads.
      assert.equal(
        await publish(c, deviceTopic.commandStatus(d.id, cmd.id), '{"state":"delivered"}'),
        0,
      );
      assert.equal((await s.api.call('getCommand', { params: { id: cmd.id } })).state, 'delivered');
      assert.equal((await s.api.call('getPresence', { params: { id: d.id } })).online, true);
    } finally {
      c.end(true);
    }
  });
});

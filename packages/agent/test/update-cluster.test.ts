/**
 * The real Agent updated across a two-node cluster (decision 0021): the hubs share PostgreSQL and
 * NATS (a deployment prefix of this run's own); the image is uploaded and the job deployed
 * through node A; a simulated device (the real Agent with in-memory slots) connected to node B
 * downloads the image from B in ranged requests, installs it, reboots into it and the job ends
 * `succeeded`. Before the images were shared, B answered 500 and the job stayed downloading.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { natsTestUrl, requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { removeDeployment } from '@bulwark/bus-nats';
import type { BulwarkClient } from '@bulwark/sdk';
import { Simulator } from '../src/sim/simulator.js';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { makeImage } from './update-fixtures.js';
import { Signing } from './update-rig.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();
const nats = natsTestUrl();
const prefix = `t${process.pid}-${randomBytes(3).toString('hex')}`;

describe('an Agent update across two hub nodes', { skip, timeout: 120_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let sim: Simulator | undefined;
  let onA: BulwarkClient;
  let apiKey: string;
  const signing = new Signing();

  before(async () => {
    const shared = [
      ...['--database', schemas.url, '--database-schema', schemas.next()],
      ...['--bus', nats, '--nats-prefix', prefix],
    ];
    a = await startTestHub(shared);
    b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
    ({ apiKey } = await setupOwner(b)); // the setup token is the last started node's
    const tokens = await a.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    onA = a.client(tokens.accessToken);
    await onA.firmware.pushRoot(signing.rootDoc() as never);
  });
  after(async () => {
    await sim?.stop();
    await b?.close();
    await a?.close();
    if (skip === false) await removeDeployment({ servers: nats }, prefix);
  });

  it('uploaded and deployed through A, downloaded by ranges from B, installed: succeeded', async () => {
    const ranges = { a: [] as string[], b: [] as string[] };
    for (const [name, t] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const firmware = t.hub.services.firmware;
      const download = firmware.download.bind(firmware);
      firmware.download = (...args: Parameters<typeof download>) => {
        ranges[name].push(args[2] ?? '(whole)'); // the request's Range header
        return download(...args);
      };
    }
    sim = new Simulator({
      hubUrl: b.url,
      mqttUrl: `mqtts://127.0.0.1:${b.mqttPort}`,
      ca: b.ca,
      apiKey,
      devices: 1,
      prefix: 'cl',
      backoffMinMs: 100,
      backoffMaxMs: 1000,
    });
    await sim.start();
    await sim.waitConnected(1, 30_000);
    const image = makeImage(400_000, 51);
    const meta = signing.release(image, {
      name: 'fw-cluster.img',
      version: '1.2.0',
      releaseCounter: 2,
      types: ['simulated'],
      hardware: [],
    });
    const artifact = await onA.firmware.create(JSON.parse(meta) as never);
    await onA.firmware.uploadImage(artifact.id, image);
    const d = sim.devices[0]!;
    const job = await onA.updates.deploy(d.deviceId, artifact.id);
    await b.hub.brokers.devicePlane.sweep(); // offer it now rather than at the next sweep
    const done = await onA.updates.wait(job.id, { timeoutMs: 90_000 });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
    assert.equal(d.system.reboots, 1);
    assert.equal((await d.slots.booted()).slot, 'b');
    assert.deepEqual(ranges.a, [], 'nothing was downloaded from node A');
    assert.ok(ranges.b.length >= 1, 'node B served the image');
    for (const r of ranges.b) assert.match(r, /^bytes=\d+-\d*$/, `a ranged request: ${r}`);
  });
});

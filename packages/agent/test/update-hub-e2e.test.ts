/**
 * The install path through the REAL hub end to end: an operator deploys an artifact with the SDK,
 * the hub's update plane offers it to the agent over MQTT (mutual TLS), the agent downloads it from
 * the firmware repository, reboots into it, passes its health check and reports; the job ends
 * `succeeded` and the device's firmware version follows. A release the device refuses (wrong
 * hardware, which the hub does not check) ends `rejected` with the device's reason in the history.
 * Two consecutive releases with a chunk index: the second one downloads as a delta, in ranged
 * requests, and the hub's job carries what it saved.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BulwarkClient } from '@bulwark/sdk';
import { Agent } from '../src/agent.js';
import { Simulator } from '../src/sim/simulator.js';
import { DirFiles } from '../src/files/dir-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import {
  agentConfig,
  cleanup,
  PASSWORD,
  setupOwner,
  startTestHub,
  tempDir,
  type TestHub,
} from './helpers.js';
import { chunkImage } from '@bulwark/firmware';
import { makeImage, noise } from './update-fixtures.js';
import { DEVICE_TYPE, HARDWARE, provisionSlots, Signing } from './update-rig.js';

describe('update jobs through the real hub', () => {
  let t: TestHub;
  let owner: BulwarkClient;
  let api: BulwarkClient;
  let apiKey: string;
  let sim: Simulator | undefined;
  let dir: string;
  let agent: Agent;
  let deviceId: string;
  let reboots = 0;
  const signing = new Signing();

  const artifact = async (over: Parameters<Signing['release']>[1], seed: number) => {
    const image = makeImage(400_000, seed);
    const a = await owner.firmware.create(
      JSON.parse(signing.release(image, { name: `fw-${seed}.img`, ...over })) as never,
    );
    await owner.firmware.uploadImage(a.id, image);
    return a.id;
  };

  before(async () => {
    t = await startTestHub();
    const s = await setupOwner(t);
    api = s.api;
    apiKey = s.apiKey;
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    owner = t.client(tokens.accessToken);
    await owner.firmware.pushRoot(signing.rootDoc() as never);
    dir = tempDir('bulwark-update-e2e-');
    const slots = await provisionSlots(dir);
    const d = await api.devices.create({ name: 'e2e', type: DEVICE_TYPE });
    deviceId = d.id;
    const { token } = await api.devices.createEnrollmentToken(d.id, {});
    const config = agentConfig(t, join(dir, 'state'), {
      enrollment: { token },
      device: { type: DEVICE_TYPE, firmwareVersion: '1.0.0' },
      update: { slotsDir: join(dir, 'slots'), hardware: HARDWARE, healthTimeoutSeconds: 30 },
    });
    const files = await DirFiles.open(join(dir, 'state'));
    const system = new SyntheticSystem();
    system.onReboot = async () => {
      reboots++;
      await agent.stop();
      await slots.boot();
      agent = new Agent({ config, files, system });
      await agent.start();
    };
    agent = new Agent({ config, files, system });
    await agent.start();
    await agent.whenConnected(20_000);
  });
  after(async () => {
    await sim?.stop();
    await agent?.stop();
    await t?.close();
    cleanup(dir);
  });

  it('deploys, installs, reboots, health-checks and ends succeeded', async () => {
    const artifactId = await artifact({ version: '2.0.0', releaseCounter: 6 }, 41);
    const job = await owner.updates.deploy(deviceId, artifactId);
    const done = await owner.updates.wait(job.id, { timeoutMs: 60_000 });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
    const states: string[] = done.history.map((h) => h.state);
    for (const s of ['queued', 'delivered', 'downloading', 'downloaded', 'installing', 'rebooting'])
      assert.ok(states.includes(s), `${s} in ${states.join()}`);
    assert.equal(reboots, 1);
    const device = await api.devices.get(deviceId);
    assert.equal(device.firmwareVersion, '2.0.0');
  });

  it('updates simulated devices for real (in-memory slots; the reboot restarts the agent)', async () => {
    sim = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      apiKey,
      devices: 2,
      prefix: 'upd',
      backoffMinMs: 100,
      backoffMaxMs: 1000,
    });
    await sim.start();
    await sim.waitConnected(2, 30_000);
    const artifactId = await artifact(
      { version: '1.1.0', releaseCounter: 1, types: ['simulated'], hardware: [] },
      43,
    );
    for (const d of sim.devices) {
      const job = await owner.updates.deploy(d.deviceId, artifactId);
      const done = await owner.updates.wait(job.id, { timeoutMs: 60_000 });
      assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
      assert.equal(d.system.reboots, 1);
      assert.equal((await d.slots.booted()).slot, 'b');
      assert.equal((await api.devices.get(d.deviceId)).firmwareVersion, '1.1.0');
    }
  });

  it('ends rejected with the device reason for a release that does not fit its hardware', async () => {
    const artifactId = await artifact(
      { version: '3.0.0', releaseCounter: 7, hardware: ['rev-z'] },
      42,
    );
    const job = await owner.updates.deploy(deviceId, artifactId);
    const done = await owner.updates.wait(job.id, { timeoutMs: 30_000 });
    assert.equal(done.state, 'rejected');
    assert.equal(done.reason, 'wrong_hardware');
    assert.match(done.message ?? '', /rev-z/);
    assert.equal(reboots, 1, 'no reboot for a refused release');
  });

  it('downloads the next release as a delta: ranged requests, the saving on the hub job', async () => {
    const ranges: string[] = [];
    const firmware = t.hub.services.firmware;
    const download = firmware.download.bind(firmware);
    firmware.download = (...args: Parameters<typeof download>) => {
      const r = args[2];
      if (r !== undefined) ranges.push(r); // the request's Range header
      return download(...args);
    };
    const v4 = noise(400_000, 44);
    const v41 = Buffer.concat([v4.subarray(0, 200_000), noise(20_000, 45), v4.subarray(220_000)]);
    const upload = async (image: Buffer, version: string, releaseCounter: number) => {
      const meta = signing.release(image, {
        name: `fw-${version}.img`,
        version,
        releaseCounter,
        chunkIndex: await chunkImage(image),
      });
      const a = await owner.firmware.create(JSON.parse(meta) as never);
      await owner.firmware.uploadImage(a.id, image);
      return a.id;
    };
    try {
      for (const [image, version, counter] of [
        [v4, '4.0.0', 8],
        [v41, '4.1.0', 9],
      ] as const) {
        const before = ranges.length;
        const job = await owner.updates.deploy(deviceId, await upload(image, version, counter));
        const done = await owner.updates.wait(job.id, { timeoutMs: 60_000 });
        assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
        assert.equal((await api.devices.get(deviceId)).firmwareVersion, version);
        if (version === '4.0.0') continue;
        const d = done.delta;
        assert.ok(d, 'the job carries the delta figures');
        assert.equal(d.totalBytes, v41.byteLength);
        assert.ok(d.reusedBytes > 300_000, JSON.stringify(d));
        assert.ok(d.downloadedBytes < d.totalBytes / 4, JSON.stringify(d));
        assert.equal(d.downloadedBytes + d.reusedBytes, d.totalBytes);
        const served = ranges.slice(before);
        assert.ok(served.length >= 1, 'the hub served ranged requests');
        for (const r of served) {
          const m = /^bytes=(\d+)-(\d+)$/.exec(r);
          assert.ok(m, `Range: ${r}`);
          const [start, end] = [Number(m[1]), Number(m[2])];
          assert.ok(
            start > 0 && end < v41.byteLength - 1 && start <= end,
            `inside the image: ${r}`,
          );
        }
      }
    } finally {
      firmware.download = download;
    }
  });
});

/**
 * `bulwark update deploy|jobs|job|cancel` against a real hub process: an artifact signed with
 * `bulwark keys init` + `bulwark firmware sign` and uploaded, deployed to a stand-in device on MQTT
 * that walks the job to `succeeded`, and the hub's refusals shown as clear errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connect, main, resolveConnection } from '@bulwark/cli';
import type { BulwarkClient } from '@bulwark/sdk';
import { captureIo, firmwareSignArgs } from './helpers.js';
import { connectWithKey, startHub, type ManagedHub } from './management-hub.js';

interface Job {
  id: string;
  state: string;
  history: { state: string; reason?: string; message?: string }[];
}

/** A stand-in device: takes every install offer through to `succeeded` with `version`. */
async function updatingDevice(hub: ManagedHub, id: string, key: string): Promise<MqttClient> {
  const client = await connectWithKey(hub, id, key);
  client.on('message', (topic, payload) => {
    const offer = JSON.parse(payload.toString()) as { action: string; id: string; length: number };
    if (offer.action !== 'install') return;
    void (async () => {
      const status = `${topic}/status`;
      const total = offer.length;
      for (const s of [
        { state: 'downloading', progress: { bytes: 0, total } },
        { state: 'downloading', progress: { bytes: total, total } },
        { state: 'downloaded' },
        { state: 'installing' },
        { state: 'rebooting' },
        {
          state: 'succeeded',
          installed: { type: 'rpi4', version: '1.2.0', releaseCounter: 1 },
        },
      ]) {
        await client.publishAsync(status, JSON.stringify(s), { qos: 1 });
      }
    })();
  });
  await client.subscribeAsync(`$devices/${id}/updates/+`, { qos: 1 });
  return client;
}

describe('bulwark update deploy / jobs / job / cancel', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let api: BulwarkClient;
  let dir: string;
  let artifactId = '';
  let device: MqttClient | undefined;
  const local = async (...argv: string[]) => {
    const c = captureIo({}, dir);
    const code = await main(argv, c.io);
    assert.equal(code, 0, `${argv.join(' ')}: ${c.stderr}`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-update-cli-'));
    await writeFile(join(dir, 'fw.img'), Buffer.alloc(50_000, 7));
    await local('keys', 'init', '--dir', 'keys');
    await local(...firmwareSignArgs('rpi4', '1.2.0', '--out', 'fw.meta.json'));
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
    const pushed = await hub.run(['firmware', 'root', 'push', join(dir, 'keys', 'root.json')]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const up = await hub.json<{ id: string }>([
      'firmware',
      'upload',
      join(dir, 'fw.img'),
      join(dir, 'fw.meta.json'),
    ]);
    artifactId = up.id;
  });
  after(async () => {
    device?.end(true);
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('deploy --wait follows the job to succeeded; job prints the history', async () => {
    const d = await api.devices.create({ name: 'pi-1', type: 'rpi4' });
    const { key } = await api.devices.createKey(d.id);
    device = await updatingDevice(hub, d.id, key);
    const r = await hub.run(['update', 'deploy', d.id, artifactId, '--timeout', '10m', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /state\s+succeeded/);
    assert.match(r.stdout, /history:\nSTATE/);
    // Past the download, the last progress report no longer says how far it got.
    assert.match(r.stdout, /^progress\s+downloaded \(50000 bytes\)$/m);
    assert.match(r.stdout, /^created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by /m);
    // While waiting, the job's progress goes to stderr: plain lines in a pipe, one per change.
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', /^job \S+: queued$/);
    assert.match(lines.at(-1) ?? '', /^job \S+: succeeded$/);
    assert.equal(new Set(lines).size, lines.length, 'no line repeated');
    const jobs = await hub.json<{ items: Job[] }>(['update', 'jobs', '--device', d.id]);
    assert.equal(jobs.items.length, 1);
    const job = jobs.items[0]!;
    assert.deepEqual(
      job.history.map((h) => h.state),
      ['queued', 'delivered', 'downloading', 'downloaded', 'installing', 'rebooting', 'succeeded'],
    );
    const shown = await hub.run(['update', 'job', job.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /action id\s+\d+/);
    assert.match(shown.stdout, /^rebooting\s/m);
    assert.equal((await api.devices.get(d.id)).firmwareVersion, '1.2.0');
  });

  test('cancel a queued job; refusals are clear errors and change nothing', async () => {
    const d = await api.devices.create({ name: 'pi-2', type: 'rpi4' });
    const job = await hub.json<Job>(['update', 'deploy', d.id, artifactId]);
    assert.equal(job.state, 'queued');
    const open = await hub.run(['update', 'deploy', d.id, artifactId]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /update_job_open/);
    const held = await hub.run(['firmware', 'delete', artifactId]);
    assert.equal(held.code, 1);
    assert.match(
      held.stderr,
      new RegExp(`open update job\\(s\\) ${job.id} .*firmware_artifact_in_use`),
    );
    const canceled = await hub.json<Job>(['update', 'cancel', job.id]);
    assert.equal(canceled.state, 'canceled');
    const again = await hub.run(['update', 'cancel', job.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /update_job_not_cancelable/);
    // --force ends a job without its device's answer (decision 0015); the history says so.
    const d2 = await api.devices.create({ name: 'pi-2b', type: 'rpi4' });
    const job2 = await hub.json<Job>(['update', 'deploy', d2.id, artifactId]);
    const forced = await hub.json<Job>(['update', 'cancel', '--force', job2.id]);
    assert.equal(forced.state, 'canceled');
    assert.match(forced.history.at(-1)?.message ?? '', /^forced in state queued/);
    const fan = await api.devices.create({ name: 'fan-9', type: 'fan' });
    const wrong = await hub.run(['update', 'deploy', fan.id, artifactId]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /update_incompatible/);
    const bad = await hub.run(['update', 'deploy', d.id, artifactId, '--timeout', 'soon']);
    assert.equal(bad.code, 2);
    // Arguments the hub would refuse are usage errors that say what to give instead.
    // A device may be named instead of its id (decision 0029); a name nobody has is a clear error.
    const noName = await hub.run(['update', 'deploy', 'no-such-device', artifactId]);
    assert.equal(noName.code, 1);
    assert.match(noName.stderr, /no device named "no-such-device"/);
    const usage: [string[], RegExp][] = [
      [
        [d.id, 'fw.img'],
        /ARTIFACT "fw.img" is not an id \(a UUID, as `bulwark firmware list` shows\)/,
      ],
      [[d.id, artifactId, '--timeout', '31d'], /--timeout 31d is out of range \(1s to 30d\)/],
      [[d.id, artifactId, '--timeout', '0s'], /--timeout 0s is out of range/],
    ];
    for (const [args, message] of usage) {
      const u = await hub.run(['update', 'deploy', ...args]);
      assert.equal(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
      assert.match(u.stderr, message);
    }
    const missing = await hub.run([
      'update',
      'deploy',
      d.id,
      '01890000-0000-7000-8000-000000000000',
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such firmware artifact \(not_found\)/);
    const canceledList = await hub.json<{ items: Job[] }>([
      'update',
      'jobs',
      '--state',
      'canceled',
    ]);
    assert.deepEqual(
      canceledList.items.map((j) => j.id),
      [job2.id, job.id],
    );
    assert.equal(
      (await hub.json<{ items: Job[] }>(['update', 'jobs', '--device', fan.id])).items.length,
      0,
    );
  });
});

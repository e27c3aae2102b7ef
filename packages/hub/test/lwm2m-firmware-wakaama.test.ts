/**
 * Firmware over LwM2M against a client we did not write (decision 0044): Eclipse Wakaama's
 * `lwm2mclient`, whose Firmware Update object is a stub (a Package URI write answers 2.04 and is
 * discarded; State starts at 1; executing Update moves State 1 → 2 once; Update Result stays 0;
 * its Firmware Version never changes). The server's sequence runs against it — Package URI
 * written, State and Update Result observed, the job downloading — and the job never counts a
 * success: it times out at its deadline, and when the stub reaches State 2 (the operator executes
 * its Update, the stub's only way there) the server's own Update is refused and the job fails with
 * that reason. Under CI=true a missing binary fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { UpdateJobRecord } from '@bulwark/core';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { firmwarePublisher } from './rollout-helpers.js';

const CLIENT = fileURLToPath(
  new URL('../../../../../shared/tools/lwm2m/lwm2mclient', import.meta.url),
);
const present = existsSync(CLIENT);
if (!present && process.env['CI'] === 'true') {
  it('Wakaama lwm2mclient is present (required when CI=true)', () =>
    assert.fail(`missing ${CLIENT}`));
}
const skip = present ? false : `Wakaama lwm2mclient not found at ${CLIENT}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 500; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('firmware over LwM2M against Wakaama lwm2mclient', { skip, timeout: 90_000 }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let proc: ChildProcess | undefined;
  let out = '';
  let deviceId: string;
  let artifactId: string;

  const job = async (id: string): Promise<UpdateJobRecord> => {
    const j = await t.hub.storage.updateJobs.get(s.orgId, id);
    assert.ok(j);
    return j;
  };
  const inState = (id: string, state: string) =>
    until(`job ${id} ${state}`, async () => {
      const j = await job(id);
      return j.state === state ? j : undefined;
    });

  before(async () => {
    t = await startTestHub(['--lwm2m-port', '0']);
    s = await setupOwner(t);
    const pub = await firmwarePublisher(s.owner);
    artifactId = (await pub.publish('2.0.0', ['lwm2m'], 2)).id;
    deviceId = (await s.owner.devices.create({ name: 'wakaama', type: 'lwm2m', tags: ['lwm2m'] }))
      .id;
    const port = t.hub.info.lwm2mPort!;
    proc = spawn(
      CLIENT,
      ['-4', '-h', '127.0.0.1', '-p', String(port), '-n', deviceId, '-l', '0', '-t', '300'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    await until('the registration and its /3/0 read', async () => {
      const st = (await s.owner.twins.get(deviceId)).reported?.state as
        { lwm2m?: { registered?: boolean }; objects?: Record<string, unknown> } | undefined;
      return st?.lwm2m?.registered === true && st.objects?.['3'] !== undefined ? true : undefined;
    });
  });
  after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc!.on('exit', r));
      proc.kill('SIGINT');
      const k = setTimeout(() => proc!.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(k);
    }
    await t.close();
  });

  it('the server writes the Package URI and follows State; the stub never succeeds: timed out', async () => {
    const j0 = await s.owner.updates.deploy(deviceId, artifactId, { timeoutSeconds: 60 });
    const j = await inState(j0.id, 'downloading');
    const delivered = j.history.find((h) => h.state === 'delivered');
    assert.equal(delivered?.message, 'Package URI (/5/0/1) written');
    assert.equal(j.history.at(-1)?.message, 'LwM2M State 1 (Downloading)');
    // Nothing else the stub says can move it on: still downloading a while later.
    await sleep(2000);
    assert.equal((await job(j0.id)).state, 'downloading', out.slice(-2000));
    // Its deadline passes (the hub's clock): timed out, never succeeded.
    t.clock.advance(61_000);
    const end = await inState(j0.id, 'timed_out');
    assert.equal(end.reason, 'timed_out');
    assert.ok(!end.history.some((h) => h.state === 'succeeded' || h.state === 'rebooting'));
    t.clock.t -= 61_000;
  });

  it('at State 2 the server executes Update; the stub refuses it and the job fails with that reason', async () => {
    const j0 = await s.owner.updates.deploy(deviceId, artifactId);
    await inState(j0.id, 'downloading');
    // The stub reaches State 2 only by executing its Update: the operator does it (a command).
    const cmd = await s.owner.commands.send(deviceId, {
      name: 'lwm2m.execute',
      params: { path: '/5/0/2' },
    });
    const done = await s.owner.commands.wait(cmd.id, { timeoutMs: 15_000 });
    assert.equal(done.state, 'succeeded');
    // The stub does not notify: the sweep reads State once the job has been silent 15 s.
    t.clock.advance(16_000);
    const j = await until(
      'the job to fail',
      async () => {
        const x = await job(j0.id);
        return x.state === 'failed' ? x : undefined;
      },
      30_000,
    );
    assert.equal(j.reason, 'update_refused');
    assert.match(j.message ?? '', /^Execute \/5\/0\/2 answered 4\.00/);
    assert.deepEqual(
      j.history.filter((h) => !h.event).map((h) => h.state),
      ['queued', 'delivered', 'downloading', 'downloaded', 'failed'],
    );
    assert.notEqual((await s.owner.devices.get(deviceId)).firmwareVersion, '2.0.0');
  });
});

/**
 * Application mode end to end: a real agent process on directory slots with a `current` symlink
 * takes an offer from the hub, downloads and verifies the image, switches the symlink and runs the
 * restart command instead of rebooting, then health-checks the new slot in the same process and
 * commits — or, when the check fails, switches back, restarts again, and reports `rolled_back`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupSlots } from '../src/boot/setup.js';
import { parseUpdateConfig } from '../src/update/update-config.js';
import { cleanup, tempDir, waitFor } from './helpers.js';
import { spawnLines } from './process-helpers.js';
import { makeImage } from './update-fixtures.js';
import { FACTORY, FACTORY_IMAGE, rigConfig, startRig, type Rig } from './update-rig.js';

const CHILD = fileURLToPath(new URL('./update-agent-child.js', import.meta.url));
const IMAGE = makeImage(150_000, 52);
const SICK_IMAGE = makeImage(150_000, 53);

describe('application mode: symlink switch and service restart', () => {
  let rig: Rig;
  const dirs: string[] = [];
  before(async () => {
    rig = await startRig();
  });
  after(async () => {
    await rig?.close();
    cleanup(...dirs);
  });

  async function run(name: string, image: Uint8Array, env: Record<string, string>) {
    const dir = tempDir('bulwark-app-mode-');
    dirs.push(dir);
    const restarts = join(dir, 'restarts');
    const update = {
      mode: 'application',
      slotsDir: join(dir, 'app'),
      restartCommand: ['/bin/sh', '-c', `echo restart >> ${restarts}`],
      healthTimeoutSeconds: 20,
    };
    writeFileSync(join(dir, 'factory.bin'), FACTORY_IMAGE);
    const setup = await setupSlots(
      parseUpdateConfig(update, (p) => resolve(dir, p)),
      {
        file: join(dir, 'factory.bin'),
        version: FACTORY.version,
        counter: FACTORY.counter,
      },
    );
    assert.ok(setup.ok, JSON.stringify(setup.checks));
    assert.equal(readlinkSync(join(dir, 'app', 'current')), 'a');
    const { deviceId, token } = await rig.device(name);
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify(rigConfig(rig, dir, token, { update })));
    const art = await rig.artifact(image);
    const job = `job-${name}`;
    let offered = false;
    const p = spawnLines([CHILD, configFile], {
      env,
      onLine: (l) => {
        if (!offered && l.startsWith('connected to ')) {
          offered = true;
          rig.send(deviceId, job, rig.offer(job, art));
        }
      },
    });
    const hung = setTimeout(() => void p.kill9(), 90_000);
    const code = await p.exited;
    clearTimeout(hung);
    assert.equal(code, 0, p.lines.join('\n'));
    const final = p.lines.find((l) => l.startsWith('final '))?.split(' ')[1];
    const restarted = readFileSync(restarts, 'utf8').trim().split('\n').length;
    return { dir, final, restarted, deviceId, job };
  }

  it('commits in one agent run: the symlink moves to b, the service restarts once', async () => {
    const r = await run('app-ok', IMAGE, {});
    assert.equal(r.final, 'committed');
    assert.equal(r.restarted, 1);
    assert.equal(readlinkSync(join(r.dir, 'app', 'current')), 'b');
    assert.ok(Buffer.from(IMAGE).equals(readFileSync(join(r.dir, 'app', 'current', 'image'))));
    await waitFor(
      () => rig.statuses(r.deviceId, r.job).some((s) => s.state === 'succeeded'),
      'succeeded',
    );
    const s = rig.statuses(r.deviceId, r.job).find((x) => x.state === 'succeeded')!;
    assert.equal(s.installed?.version, '2.0.0');
  });

  it('rolls back when the new application fails its check: back to a, restarted twice', async () => {
    const r = await run('app-sick', SICK_IMAGE, { HEALTH_FAIL: '1' });
    assert.equal(r.final, 'rolled_back');
    assert.equal(r.restarted, 2);
    assert.equal(readlinkSync(join(r.dir, 'app', 'current')), 'a');
    await waitFor(
      () => rig.statuses(r.deviceId, r.job).some((s) => s.state === 'rolled_back'),
      'rolled_back',
    );
    const s = rig.statuses(r.deviceId, r.job).find((x) => x.state === 'rolled_back')!;
    assert.equal(s.reason, 'health_check_failed');
    assert.equal(s.installed?.slot, 'a');
  });
});

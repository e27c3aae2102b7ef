/**
 * SIGKILL of a real agent process after EVERY persisted step of an install: each run kills itself
 * right after its first write of the install record, the next run resumes from it, and the parent
 * plays the bootloader when the agent reboots. The device always has a good slot, the install ends
 * committed (or rolled back when the new slot is unhealthy), and the job's statuses end right.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, tempDir, waitFor } from './helpers.js';
import { spawnLines } from './process-helpers.js';
import { assertGoodSlot, makeImage } from './update-fixtures.js';
import { provisionSlots, rigConfig, startRig, type Rig } from './update-rig.js';

const CHILD = fileURLToPath(new URL('./update-agent-child.js', import.meta.url));
/** Runs of one sequence: one per persisted step and reboot, with room to spare. */
const MAX_RUNS = 40;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

async function runChild(
  configFile: string,
  env: Record<string, string>,
  onLine: (l: string) => void,
): Promise<Run> {
  const p = spawnLines([CHILD, configFile], { env, onLine });
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void p.kill9();
      reject(new Error(`child run hung:\n${p.lines.join('\n')}`));
    }, 60_000);
  });
  try {
    const code = await Promise.race([p.exited, hung]);
    return { code, signal: p.child.signalCode, lines: p.lines };
  } finally {
    clearTimeout(timer);
  }
}

describe('SIGKILL of the agent after every persisted install step', () => {
  let rig: Rig;
  const dirs: string[] = [];
  const image = makeImage(600_000, 33);
  let art: Awaited<ReturnType<Rig['artifact']>>;

  before(async () => {
    rig = await startRig();
    art = await rig.artifact(image);
  });
  after(async () => {
    await rig?.close();
    cleanup(...dirs);
  });

  async function sequence(name: string, env: Record<string, string>) {
    const dir = tempDir('bulwark-update-kill9-');
    dirs.push(dir);
    const slots = await provisionSlots(dir);
    const { deviceId, token } = await rig.device(name);
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify(rigConfig(rig, dir, token)));
    const job = `job-${name}`;
    let offered = false;
    const persisted: string[] = [];
    let kills = 0;
    let reboots = 0;
    for (let run = 0; run < MAX_RUNS; run++) {
      const r = await runChild(configFile, { KILL_AT: '1', ...env }, (l) => {
        if (l.startsWith('persisted ')) persisted.push(l.split(' ')[1]!);
        // Offer once the first agent is connected (the offer is not retained).
        if (!offered && l.startsWith('connected to ')) {
          offered = true;
          rig.send(deviceId, job, rig.offer(job, art));
        }
      });
      await assertGoodSlot(slots); // after every kill, reboot and end: a good slot
      if (r.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      if (r.code === 42) {
        reboots++;
        await slots.boot();
        continue;
      }
      assert.equal(r.code, 0, r.lines.join('\n'));
      const final = r.lines.find((l) => l.startsWith('final '))!.split(' ')[1];
      return { final, persisted, kills, reboots, deviceId, job, slots };
    }
    throw new Error(`no end after ${MAX_RUNS} runs: ${persisted.join(' ')}`);
  }

  it('ends committed on the new slot, the job succeeded', async () => {
    const r = await sequence('kill-ok', {});
    assert.equal(r.final, 'committed');
    // Killed after each step: begin, 3 chunks, verifying, installing, rebooting, confirming, committed.
    for (const st of [
      'downloading',
      'downloaded',
      'verifying',
      'installing',
      'rebooting',
      'confirming',
      'committed',
    ])
      assert.ok(r.persisted.includes(st), `persisted ${st}: ${r.persisted.join(' ')}`);
    assert.ok(r.kills >= 8, `kills ${r.kills}`);
    assert.equal(r.reboots, 1);
    assert.equal((await r.slots.booted()).slot, 'b');
    const c = await r.slots.readControl();
    assert.deepEqual([c.primary, c.slots.b.good], ['b', true]);
    await waitFor(
      () => rig.statuses(r.deviceId, r.job).some((s) => s.state === 'succeeded'),
      'succeeded',
    );
    const states = rig.statuses(r.deviceId, r.job).map((s) => s.state);
    assert.ok(
      !states.some((s) => ['failed', 'rolled_back', 'rejected'].includes(s)),
      states.join(),
    );
    assert.equal(
      rig.statuses(r.deviceId, r.job).find((s) => s.state === 'succeeded')!.installed?.version,
      '2.0.0',
    );
  });

  it('ends rolled back on the previous slot when the new one is unhealthy', async () => {
    const r = await sequence('kill-sick', { HEALTH_FAIL: '1' });
    assert.equal(r.final, 'rolled_back');
    assert.equal(r.reboots, 2, 'into the new slot and back');
    assert.equal((await r.slots.booted()).slot, 'a');
    const c = await r.slots.readControl();
    assert.deepEqual([c.primary, c.slots.a.good, c.slots.b.good], ['a', true, false]);
    await waitFor(
      () => rig.statuses(r.deviceId, r.job).some((s) => s.state === 'rolled_back'),
      'rolled_back',
    );
    const s = rig.statuses(r.deviceId, r.job).find((x) => x.state === 'rolled_back')!;
    assert.equal(s.reason, 'health_check_failed');
    assert.equal(s.installed?.slot, 'a');
    assert.ok(!rig.statuses(r.deviceId, r.job).some((x) => x.state === 'succeeded'));
  });
});

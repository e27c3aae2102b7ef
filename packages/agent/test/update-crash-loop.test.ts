/**
 * A new image whose agent crash-loops rolls back on time: the install runs on a U-Boot board
 * (fw_setenv on a file-backed environment), the new slot boots, and from then on every agent run
 * is killed (SIGKILL) while its health check waits — the way a supervisor restarts a crashing
 * worker, without a reboot. The confirmation deadline is persisted at the first boot of the new
 * slot, so it passes after healthTimeoutSeconds however often the agent restarts; the next start
 * rolls back, the agent reboots, U-Boot boots the previous slot, and the job ends `rolled_back`.
 * (Before the deadline was persisted, each restart started a new timeout and this never ended.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupSlots } from '../src/boot/setup.js';
import { parseUpdateConfig } from '../src/update/update-config.js';
import { makeBoard, ubootBoot, ubootEnvOf } from './boot-fixtures.js';
import { cleanup, tempDir, waitFor } from './helpers.js';
import { spawnLines } from './process-helpers.js';
import { makeImage } from './update-fixtures.js';
import { rigConfig, startRig, type Rig } from './update-rig.js';

const CHILD = fileURLToPath(new URL('./update-agent-child.js', import.meta.url));
/** Long enough for a few agent starts (about 3 s each on a loaded two-core machine). */
const TIMEOUT_S = 12;
/** Runs: the install, a few killed runs until the deadline, the rollback, the end; bounded. */
const MAX_RUNS = 30;
/** A run of the new slot is killed this long after its health check started. */
const KILL_AFTER_MS = 600;

describe('crash-looping new image on a U-Boot board', () => {
  let rig: Rig;
  let dir: string;
  before(async () => {
    rig = await startRig();
    dir = tempDir('bulwark-crash-loop-');
  });
  after(async () => {
    await rig?.close();
    cleanup(dir);
  });

  it('rolls back once the persisted deadline passes, although every restart restarted the worker', async () => {
    const board = makeBoard(dir);
    const { deviceId, token } = await rig.device('crash-loop');
    const update = {
      mode: 'uboot',
      slotsDir: join(dir, 'slots'),
      slotImages: board.images,
      ubootConfigFile: board.fwConfig,
      cmdlineFile: board.cmdlineFile,
      bootIdFile: board.bootIdFile,
      healthTimeoutSeconds: TIMEOUT_S,
    };
    assert.ok((await setupSlots(parseUpdateConfig(update, (p) => resolve(dir, p)))).ok);
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify(rigConfig(rig, dir, token, { update })));
    const art = await rig.artifact(makeImage(200_000, 44));
    const job = 'job-crash-loop';
    let offered = false;
    let killed = 0;
    let reboots = 0;
    let final: string | undefined;
    for (let run = 0; run < MAX_RUNS && final === undefined; run++) {
      let timer: NodeJS.Timeout | undefined;
      const p = spawnLines([CHILD, configFile], {
        env: { HEALTH_HANG: '1' },
        onLine: (l) => {
          if (!offered && l.startsWith('connected to ')) {
            offered = true;
            rig.send(deviceId, job, rig.offer(job, art));
          }
          // The new slot's agent dies while its health check waits.
          if (l === 'state confirming' || l.startsWith('persisted confirming'))
            timer ??= setTimeout(() => {
              killed++;
              void p.kill9();
            }, KILL_AFTER_MS);
        },
      });
      const hung = setTimeout(() => void p.kill9(), 60_000);
      const code = await p.exited;
      clearTimeout(hung);
      clearTimeout(timer);
      if (code === 42) {
        reboots++;
        ubootBoot(board); // U-Boot: bootcount, bootlimit, altbootcmd
        continue;
      }
      const f = p.lines.find((l) => l.startsWith('final '));
      if (f !== undefined) final = f.split(' ')[1];
      else assert.equal(p.child.signalCode, 'SIGKILL', p.lines.join('\n'));
    }
    assert.equal(final, 'rolled_back');
    assert.equal(reboots, 2, 'into the new slot, and back');
    // How many runs fit before the deadline depends on the machine's load (a start takes seconds).
    assert.ok(killed >= 1, `the agent was killed ${killed} times on the new slot`);
    // The install record's history: when the new slot first booted, and when it was given up.
    const rec = JSON.parse(readFileSync(join(dir, 'state', 'update', 'install.json'), 'utf8')) as {
      history: { state: string; at: number }[];
      reason: string;
    };
    // Given up at a start, by the persisted deadline — not by one run's own health-check timer,
    // which no run lived long enough to reach.
    assert.match(rec.reason, /not confirmed healthy by its deadline/);
    const at = (state: string) => rec.history.find((h) => h.state === state)!.at;
    const waited = at('rolled_back') - at('confirming');
    assert.ok(waited >= TIMEOUT_S * 1000, `rolled back after ${waited} ms, before the deadline`);
    // At the first start after the deadline: within one more (slow) agent start.
    assert.ok(waited < TIMEOUT_S * 1000 + 15_000, `rolled back after ${waited} ms: not on time`);
    const env = ubootEnvOf(board);
    assert.deepEqual([env['boot_order'], env['upgrade_available']], ['A', '0']);
    await waitFor(
      () => rig.statuses(deviceId, job).some((s) => s.state === 'rolled_back'),
      'rolled_back',
    );
    const s = rig.statuses(deviceId, job).find((x) => x.state === 'rolled_back')!;
    assert.equal(s.reason, 'health_check_failed');
    assert.equal(s.installed?.slot, 'a');
  });
});

/**
 * The RAUC adapter drives a real `rauc install` (Debian's rauc, its service on a private D-Bus):
 * a bundle built and signed in the test is downloaded into the staging slot, verified, installed
 * by RAUC into the other slot file, booted by the custom bootloader backend, and then committed
 * (`mark-good`) — or, when the health check fails, rolled back (`mark-active` of the previous
 * slot, `mark-bad` of the new one) and the device boots the previous slot again; or, when it
 * never confirms, the backend falls back on its own and the agent records the rollback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openBootIntegration } from '../src/boot/open-slots.js';
import { setupSlots } from '../src/boot/setup.js';
import { DirFiles } from '../src/files/dir-files.js';
import { Installer } from '../src/update/installer.js';
import { parseUpdateConfig } from '../src/update/update-config.js';
import { makeBoard } from './boot-fixtures.js';
import { cleanup, tempDir } from './helpers.js';
import { RaucSystem } from './rauc-fixtures.js';
import { makeImage, releaseOf, TestSigner } from './update-fixtures.js';

const haveRauc = (() => {
  try {
    execFileSync('rauc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// Under CI a missing rauc is a failure (the test runs and fails), never a silent skip.
const skip =
  !haveRauc && process.env['CI'] !== 'true'
    ? 'rauc is not installed (apt-get install rauc)'
    : false;

const ROOTFS = makeImage(256 * 1024, 21);

describe('RAUC adapter: a real rauc install', { skip }, () => {
  const dirs: string[] = [];
  const systems: RaucSystem[] = [];
  const saved = { ...process.env };
  after(async () => {
    for (const s of systems) await s.close();
    process.env = saved;
    cleanup(...dirs);
  });
  before(() => assert.ok(haveRauc, 'rauc is not installed (apt-get install rauc squashfs-tools)'));

  async function installed() {
    const dir = tempDir('bulwark-rauc-');
    dirs.push(dir);
    const board = makeBoard(dir);
    const rauc = new RaucSystem(board);
    systems.push(rauc);
    await rauc.start('A');
    // The agent's rauc commands reach this service through the session bus.
    Object.assign(process.env, rauc.env);
    const u = parseUpdateConfig(
      {
        mode: 'rauc',
        slotsDir: 'staging',
        raucConfigFile: rauc.conf,
        cmdlineFile: board.cmdlineFile,
        bootIdFile: board.bootIdFile,
      },
      (p) => resolve(dir, p),
    );
    const setup = await setupSlots(u);
    assert.ok(setup.ok, JSON.stringify(setup.checks));
    assert.equal(rauc.state('B').state, 'bad', 'setup: the other slot holds nothing known');
    const signer = new TestSigner();
    const bundle = new Uint8Array(readFileSync(rauc.bundle(ROOTFS, '2.0.0')));
    const open = async () =>
      Installer.open({
        slots: (await openBootIntegration(u))!.slots,
        files: await DirFiles.open(join(dir, 'state')),
        verifySignature: signer.check,
      });
    const inst = await open();
    await inst.resume();
    let s = await inst.begin(signer.sign(releaseOf(bundle, '2.0.0', 2)));
    while (s.next === 'download')
      s = await inst.writeChunk(bundle.subarray(s.offset, s.offset + 32_768));
    assert.equal((await inst.verify()).state, 'installing');
    s = await inst.activate(); // rauc install
    assert.deepEqual([s.state, s.next], ['rebooting', 'reboot']);
    assert.ok(
      Buffer.from(ROOTFS).equals(readFileSync(board.images.b).subarray(0, ROOTFS.byteLength)),
      'RAUC wrote slot B',
    );
    assert.equal(rauc.primary(), 'B');
    assert.equal(await rauc.reboot(), 'B');
    const s2 = await (await open()).resume();
    assert.equal(s2.state, 'confirming');
    return { rauc, open, board };
  }

  it('commits: the new slot boots and is marked good', async () => {
    const { rauc, open } = await installed();
    const s = await (await open()).confirm(true);
    assert.equal(s.state, 'committed');
    assert.deepEqual(rauc.state('B'), { state: 'good', attempts: 3 }, 'mark-good re-armed it');
    // Boots of the committed slot are re-armed at each agent start (mark-good), never exhausted.
    for (let i = 0; i < 4; i++) {
      assert.equal(await rauc.reboot(), 'B');
      assert.equal((await (await open()).resume()).state, 'committed');
      assert.equal(rauc.state('B').attempts, 3);
    }
  });

  it("rolls back when the new slot never confirms and RAUC's bootloader falls back", async () => {
    const { rauc, open } = await installed();
    // The first trial boot happened in installed(); two more, each ending before a verdict.
    for (let i = 0; i < 2; i++) {
      assert.equal(await rauc.reboot(), 'B', `trial boot ${i + 2}`);
      assert.equal((await (await open()).resume()).state, 'confirming');
    }
    assert.equal(await rauc.reboot(), 'A', 'B has no attempts left: the backend falls back');
    const s = await (await open()).resume();
    assert.deepEqual([s.state, s.code, s.next], ['rolled_back', 'boot_failed', 'none']);
    assert.equal(rauc.primary(), 'A');
    assert.equal(rauc.state('B').state, 'bad');
    assert.deepEqual(rauc.state('A'), { state: 'good', attempts: 3 }, 're-armed at its start');
  });

  it('rolls back: a failed health check marks the new slot bad and the previous one boots', async () => {
    const { rauc, open } = await installed();
    let s = await (await open()).confirm(false, 'the app does not start');
    assert.deepEqual([s.state, s.code, s.next], ['rolled_back', 'health_check_failed', 'reboot']);
    assert.equal(rauc.primary(), 'A');
    assert.equal(rauc.state('B').state, 'bad');
    const inst = await open();
    await inst.rebootRequested();
    assert.equal(await rauc.reboot(), 'A');
    s = await (await open()).resume();
    assert.deepEqual([s.state, s.next], ['rolled_back', 'none']);
    assert.equal(rauc.state('A').state, 'good');
  });
});

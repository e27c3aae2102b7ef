/**
 * The boot-confirmation deadline is persisted (an absolute time in the install record), so restarts
 * of the agent on a new slot do not extend it; and a device whose reboots change nothing the agent
 * can see (no bootloader integration) is not rebooted forever.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DirFiles } from '../src/files/dir-files.js';
import { DirectorySlots } from '../src/update/directory-slots.js';
import { Installer } from '../src/update/installer.js';
import { cleanup, tempDir } from './helpers.js';
import { assertGoodSlot, makeImage, provision, releaseOf, TestSigner } from './update-fixtures.js';

const IMAGE = makeImage(50_000, 7);

async function installed(
  dir: string,
  signer: TestSigner,
  clock: { t: number },
  uptime?: { ms: number },
) {
  const open = async () =>
    Installer.open({
      slots: await DirectorySlots.open(join(dir, 'slots')),
      files: await DirFiles.open(join(dir, 'state')),
      verifySignature: signer.check,
      confirmTimeoutMs: 10_000,
      now: () => clock.t,
      ...(uptime !== undefined ? { uptimeMs: () => Promise.resolve(uptime.ms) } : {}),
    });
  const inst = await open();
  await inst.resume();
  let s = await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
  while (s.next === 'download')
    s = await inst.writeChunk(IMAGE.subarray(s.offset, s.offset + 20_000));
  await inst.verify();
  assert.equal((await inst.activate()).next, 'reboot');
  return open;
}

describe('boot confirmation deadline', () => {
  it('counts every agent restart against one persisted deadline, then rolls back on time', async () => {
    const dir = tempDir('bulwark-deadline-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const clock = { t: 1_000_000 };
      const open = await installed(dir, signer, clock);
      await slots.boot(); // the new slot b, on trial
      let inst = await open();
      let s = await inst.resume();
      assert.equal(s.state, 'confirming');
      assert.equal(s.confirmDeadline, 1_010_000);
      // The agent crashes and restarts (the device does not reboot): the deadline stays.
      for (const t of [1_004_000, 1_009_999]) {
        clock.t = t;
        inst = await open();
        s = await inst.resume();
        assert.equal(s.state, 'confirming');
        assert.equal(s.confirmDeadline, 1_010_000);
        assert.equal(inst.confirmRemainingMs(), 1_010_000 - t);
      }
      // A clock that jumped back does not stretch the wait past the configured timeout.
      clock.t = 900_000;
      assert.equal((await open()).confirmRemainingMs(), 10_000);
      clock.t = 1_010_000;
      inst = await open();
      s = await inst.resume();
      assert.equal(s.state, 'rolled_back');
      assert.equal(s.code, 'health_check_failed');
      assert.match(s.reason!, /not confirmed healthy by its deadline/);
      assert.equal(s.next, 'reboot', 'still on b: reboot into a');
      const c = await slots.readControl();
      assert.deepEqual([c.primary, c.slots.b.good, c.slots.b.attemptsLeft], ['a', false, 0]);
      await inst.rebootRequested();
      assert.equal((await slots.boot()).slot, 'a');
      s = await (await open()).resume();
      assert.deepEqual([s.state, s.next], ['rolled_back', 'none']);
      assert.equal(await assertGoodSlot(slots), 'a');
    } finally {
      cleanup(dir);
    }
  });

  it('stops rebooting when the OS rebooted but neither the boot id nor the slot changed', async () => {
    const dir = tempDir('bulwark-reboot-loop-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const clock = { t: 1_000_000 };
      const uptime = { ms: 3_600_000 };
      const open = await installed(dir, signer, clock, uptime);
      // Killed right after asking (the OS did not reboot): the agent asks again, as often as needed;
      // the first request's time is kept.
      const first = clock.t + 1000;
      for (let i = 0; i < 5; i++) {
        clock.t += 1000;
        uptime.ms += 1000;
        const inst = await open();
        const s = await inst.resume();
        assert.deepEqual([s.state, s.next], ['rebooting', 'reboot'], `restart ${i}`);
        assert.equal((await inst.rebootRequested()).rebootRequestedAt, first);
      }
      // The OS rebooted (uptime 20 s, 60 s after the request), but nothing plays the bootloader:
      // the same boot record comes back.
      clock.t += 60_000;
      uptime.ms = 20_000;
      const s = await (await open()).resume();
      assert.equal(s.state, 'rolled_back');
      assert.equal(s.code, 'boot_failed');
      assert.match(
        s.reason!,
        /rebooted but did not boot the new slot b: the boot id did not change/,
      );
      assert.equal(s.next, 'none', 'no further reboot');
      assert.equal((await slots.readControl()).primary, 'a');
      assert.equal(await assertGoodSlot(slots), 'a');
    } finally {
      cleanup(dir);
    }
  });
});

/**
 * The U-Boot and GRUB adapters against the real tools (fw_printenv/fw_setenv of libubootenv-tool,
 * grub-editenv of grub-common) on file-backed environments, with the bootloader's script played
 * by boot-fixtures.ts: `bulwark agent setup` writes the first record, an install switches the
 * environment to the new slot on trial, and the new slot is either committed or, when it never
 * confirms, abandoned by the bootloader's own fallback and recorded `rolled_back`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { controlToUboot, ubootToControl } from '../src/boot/boot-env.js';
import { EnvSlots, ubootEnv } from '../src/boot/env-slots.js';
import { openBootIntegration } from '../src/boot/open-slots.js';
import { DirectorySlots } from '../src/update/directory-slots.js';
import { setupSlots } from '../src/boot/setup.js';
import { DirFiles } from '../src/files/dir-files.js';
import { Installer } from '../src/update/installer.js';
import { parseUpdateConfig } from '../src/update/update-config.js';
import { cleanup, tempDir } from './helpers.js';
import {
  grubBoot,
  grubEnvOf,
  makeBoard,
  ubootBoot,
  ubootEnvOf,
  type Board,
} from './boot-fixtures.js';
import { makeImage, releaseOf, TestSigner } from './update-fixtures.js';

const IMAGE = makeImage(300_000, 11);

function config(b: Board, mode: 'uboot' | 'grub') {
  return parseUpdateConfig(
    {
      mode,
      slotsDir: 'slots',
      slotImages: b.images,
      ubootConfigFile: b.fwConfig,
      grubEnvFile: b.grubEnv,
      cmdlineFile: b.cmdlineFile,
      bootIdFile: b.bootIdFile,
    },
    (p) => resolve(b.dir, p),
  );
}

/** Setup, then an install of IMAGE up to the switch; returns a way to open the agent's installer. */
async function installToSwitch(b: Board, mode: 'uboot' | 'grub', signer: TestSigner) {
  const u = config(b, mode);
  const setup = await setupSlots(u);
  assert.ok(setup.ok, JSON.stringify(setup.checks));
  const open = async () =>
    Installer.open({
      slots: (await openBootIntegration(u))!.slots,
      files: await DirFiles.open(join(b.dir, 'state')),
      verifySignature: signer.check,
    });
  const inst = await open();
  await inst.resume();
  let s = await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
  assert.equal(s.target, 'b');
  while (s.next === 'download')
    s = await inst.writeChunk(IMAGE.subarray(s.offset, s.offset + 65_536));
  assert.equal((await inst.verify()).state, 'installing');
  assert.equal((await inst.activate()).next, 'reboot');
  const written = readFileSync(b.images.b).subarray(0, IMAGE.byteLength);
  assert.ok(Buffer.from(IMAGE).equals(written), 'the image is on the slot b partition');
  return open;
}

describe('U-Boot environment adapter (fw_setenv/fw_printenv)', () => {
  it('maps the record both ways, and refuses a trial slot that is not the primary', () => {
    const c = ubootToControl(
      { boot_order: 'B A', upgrade_available: '1', bootcount: '1', bootlimit: '3' },
      3,
    );
    assert.deepEqual(c, {
      primary: 'b',
      order: ['b', 'a'],
      slots: { a: { attemptsLeft: 3, good: true }, b: { attemptsLeft: 2, good: false } },
    });
    assert.deepEqual(controlToUboot(c, 3), {
      boot_order: 'B A',
      bootlimit: '3',
      upgrade_available: '1',
      bootcount: '1',
    });
    assert.throws(() => ubootToControl({}, 3), /boot_order is not set/);
    assert.throws(() => ubootToControl({ boot_order: 'A C' }, 3), /unknown slot "C"/);
    assert.throws(
      () =>
        controlToUboot(
          {
            primary: 'a',
            order: ['a', 'b'],
            slots: { a: { attemptsLeft: 3, good: true }, b: { attemptsLeft: 2, good: false } },
          },
          3,
        ),
      /slot b is on trial but not the primary/,
    );
  });

  it('commits a new slot that boots and passes its health check', async () => {
    const dir = tempDir('bulwark-uboot-');
    try {
      const b = makeBoard(dir);
      const open = await installToSwitch(b, 'uboot', new TestSigner());
      let env = ubootEnvOf(b);
      assert.deepEqual(
        [env['boot_order'], env['upgrade_available'], env['bootcount'], env['bootlimit']],
        ['B A', '1', '0', '3'],
      );
      assert.equal(ubootBoot(b), 'B');
      const inst = await open();
      assert.equal((await inst.resume()).state, 'confirming');
      assert.equal((await inst.confirm(true)).state, 'committed');
      env = ubootEnvOf(b);
      assert.deepEqual(
        [env['boot_order'], env['upgrade_available'], env['bootcount']],
        ['B A', '0', '0'],
      );
      assert.equal(ubootBoot(b), 'B', 'the committed slot boots from now on');
      assert.equal((await (await open()).resume()).state, 'committed');
    } finally {
      cleanup(dir);
    }
  });

  it("rolls back when the new slot exhausts bootlimit and U-Boot's altbootcmd falls back", async () => {
    const dir = tempDir('bulwark-uboot-');
    try {
      const b = makeBoard(dir);
      const open = await installToSwitch(b, 'uboot', new TestSigner());
      for (let i = 0; i < 3; i++) {
        assert.equal(ubootBoot(b), 'B', `trial boot ${i + 1}`);
        assert.equal((await (await open()).resume()).state, 'confirming'); // then it crashes
      }
      assert.equal(ubootBoot(b), 'A', 'bootcount 4 > bootlimit 3: altbootcmd');
      const s = await (await open()).resume();
      assert.deepEqual([s.state, s.code, s.next], ['rolled_back', 'boot_failed', 'none']);
      const env = ubootEnvOf(b);
      assert.deepEqual([env['boot_order'], env['upgrade_available']], ['A', '0']);
      assert.equal(ubootBoot(b), 'A');
    } finally {
      cleanup(dir);
    }
  });
});

describe('GRUB environment adapter (grub-editenv)', () => {
  it('commits a new slot that boots and passes its health check', async () => {
    const dir = tempDir('bulwark-grub-');
    try {
      const b = makeBoard(dir);
      const open = await installToSwitch(b, 'grub', new TestSigner());
      let env = grubEnvOf(b);
      assert.deepEqual(
        [env['ORDER'], env['B_OK'], env['B_TRY'], env['B_GOOD'], env['A_OK'], env['A_GOOD']],
        ['B A', '1', '0', '0', '1', '1'],
      );
      assert.equal(grubBoot(b), 'B');
      const inst = await open();
      assert.equal((await inst.resume()).state, 'confirming');
      assert.equal((await inst.confirm(true)).state, 'committed');
      env = grubEnvOf(b);
      assert.deepEqual([env['ORDER'], env['B_TRY'], env['B_GOOD']], ['B A', '0', '1']);
      assert.equal(grubBoot(b), 'B');
    } finally {
      cleanup(dir);
    }
  });

  it('rolls back when the trial boot never confirms and GRUB falls back to the good slot', async () => {
    const dir = tempDir('bulwark-grub-');
    try {
      const b = makeBoard(dir);
      const open = await installToSwitch(b, 'grub', new TestSigner());
      assert.equal(grubBoot(b), 'B');
      assert.equal((await (await open()).resume()).state, 'confirming'); // then it hangs
      assert.equal(grubBoot(b), 'A', 'B_TRY=1: GRUB skips B');
      const s = await (await open()).resume();
      assert.deepEqual([s.state, s.code, s.next], ['rolled_back', 'boot_failed', 'none']);
      const env = grubEnvOf(b);
      assert.deepEqual([env['ORDER'], env['B_OK'], env['A_TRY']], ['A B', '0', '0']);
      assert.equal(grubBoot(b), 'A', 'A re-armed at its start (mark-good)');
    } finally {
      cleanup(dir);
    }
  });
});

describe('slot partitions', () => {
  const root = process.getuid?.() === 0;
  it(
    'refuses to write the partition the running root filesystem is mounted from',
    { skip: root ? false : 'needs root (a loop device stands for the root partition)' },
    async () => {
      const dir = tempDir('bulwark-rootpart-');
      const mnt = join(dir, 'mnt');
      let dev: string | undefined;
      try {
        const b = makeBoard(dir);
        writeFileSync(join(dir, 'rootfs.img'), Buffer.alloc(4 << 20));
        dev = execFileSync('losetup', ['-f', '--show', join(dir, 'rootfs.img')], {
          encoding: 'utf8',
        }).trim();
        execFileSync('mkfs.ext2', ['-q', dev]);
        mkdirSync(mnt);
        execFileSync('mount', [dev, mnt]);
        // The mapping is wrong: "slot b" is the partition mounted as the running root (`mnt`).
        const slots = new EnvSlots(
          await DirectorySlots.open(join(dir, 'slots'), { a: b.images.a, b: dev }),
          ubootEnv({ configFile: b.fwConfig, bootAttempts: 3 }),
          { cmdlineFile: b.cmdlineFile, bootIdFile: b.bootIdFile },
          mnt,
        );
        await assert.rejects(
          slots.writeImage('b', 0, new Uint8Array(16)),
          /refusing to write slot b: .* holds the running root filesystem/,
        );
        await assert.rejects(slots.truncateImage('b', 0), /running root filesystem/);
        await slots.writeImage('a', 0, new Uint8Array(16)); // a plain file: written
      } finally {
        if (dev !== undefined) {
          for (const argv of [
            ['umount', mnt],
            ['losetup', '-d', dev],
          ])
            try {
              execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
            } catch {
              // not mounted (a failed step above): nothing to undo
            }
        }
        cleanup(dir);
      }
    },
  );
});

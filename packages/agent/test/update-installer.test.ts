/**
 * The device-side install path on directory-backed A/B slots: happy path, unconfirmed boot, failed
 * health check, refused images, resumed download, downgrade, and the bootloader's selection rule.
 * Reboots are simulated: `slots.boot()` plays the bootloader, `onBoot()` is what the agent runs next.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBootSlot, type BootControl } from '../src/update/slots.js';
import { UpdateError } from '../src/update/index.js';
import {
  assertGoodSlot,
  FACTORY,
  makeImage,
  openInstaller,
  provision,
  releaseOf,
  slotHash,
  TestSigner,
} from './update-fixtures.js';
import { cleanup, tempDir } from './helpers.js';

const IMAGE = makeImage(200_000, 2);

async function download(
  inst: Awaited<ReturnType<typeof openInstaller>>,
  image: Uint8Array,
  chunk = 65_536,
) {
  let s = await inst.status();
  for (let i = 0; s.next === 'download' && i < 1000; i++)
    s = await inst.writeChunk(image.subarray(s.offset, s.offset + chunk));
  return s;
}

describe('A/B install', () => {
  it('installs into the inactive slot, boots it on trial, commits after a healthy check', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      assert.equal((await inst.resume()).state, 'idle');
      const rel = signer.sign(releaseOf(IMAGE, '2.0.0', 2));

      let s = await inst.begin(rel);
      assert.equal(s.state, 'downloading');
      assert.equal(s.target, 'b');
      assert.equal(s.previous, 'a');
      s = await download(inst, IMAGE);
      assert.equal(s.state, 'downloaded');
      s = await inst.verify();
      assert.equal(s.state, 'installing');
      s = await inst.activate();
      assert.equal(s.state, 'rebooting');
      assert.equal(s.next, 'reboot');
      let control = await slots.readControl();
      assert.deepEqual(control, {
        primary: 'b',
        order: ['b', 'a'],
        slots: { a: { attemptsLeft: 3, good: true }, b: { attemptsLeft: 3, good: false } },
      });
      // The agent restarts without a reboot: still waiting for the reboot.
      assert.equal((await (await openInstaller(dir, signer.check)).resume()).state, 'rebooting');

      const sel = await slots.boot();
      assert.equal(sel.slot, 'b');
      assert.equal((await slots.readControl()).slots.b.attemptsLeft, 2);
      s = await inst.onBoot();
      assert.equal(s.state, 'confirming');
      assert.equal(s.next, 'health-check');
      s = await inst.confirm(true);
      assert.equal(s.state, 'committed');
      assert.equal(s.committedCounter, 2);
      control = await slots.readControl();
      assert.deepEqual(control.slots.b, { attemptsLeft: 3, good: true });
      assert.equal(control.primary, 'b');
      assert.equal(control.slots.a.good, true, 'the previous slot stays the fallback');
      assert.deepEqual(await slots.readManifest('b'), rel);
      assert.equal(await slotHash(slots, 'b'), rel.sha256);
      // Later boots take b; each start re-arms its counter (mark-good).
      assert.equal((await slots.boot()).slot, 'b');
      assert.equal((await slots.readControl()).slots.b.attemptsLeft, 2);
      assert.equal((await inst.onBoot()).state, 'committed');
      assert.deepEqual((await slots.readControl()).slots.b, { attemptsLeft: 3, good: true });
      assert.deepEqual(
        s.history.map((h) => h.state),
        [
          'downloading',
          'downloaded',
          'verifying',
          'installing',
          'rebooting',
          'confirming',
          'committed',
        ],
      );

      // The next update goes back into a; while it is written, a is not bootable.
      const img3 = makeImage(50_000, 3);
      const rel3 = signer.sign(releaseOf(img3, '3.0.0', 3));
      await (await openInstaller(dir, signer.check)).resume();
      const inst2 = await openInstaller(dir, signer.check);
      assert.equal((await inst2.begin(rel3)).target, 'a');
      assert.deepEqual((await slots.readControl()).slots.a, { attemptsLeft: 0, good: false });
      assert.equal(await slots.readManifest('a'), undefined);
      await download(inst2, img3);
      await inst2.verify();
      await inst2.activate();
      assert.equal((await slots.boot()).slot, 'a');
      await inst2.onBoot();
      assert.equal((await inst2.confirm(true)).state, 'committed');
      assert.equal(await assertGoodSlot(slots), 'a');
    } finally {
      cleanup(dir);
    }
  });

  it('falls back when the new slot is never confirmed within its boot attempts', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
      await download(inst, IMAGE);
      await inst.verify();
      await inst.activate();
      // Three trial boots that hang or crash before the health check confirms.
      for (let i = 0; i < 3; i++) {
        const sel = await slots.boot();
        assert.equal(sel.slot, 'b');
        assert.equal(sel.fellBack, false);
        assert.equal((await (await openInstaller(dir, signer.check)).resume()).state, 'confirming');
      }
      const sel = await slots.boot();
      assert.equal(sel.slot, 'a');
      assert.equal(sel.fellBack, true);
      const s = await (await openInstaller(dir, signer.check)).resume();
      assert.equal(s.state, 'rolled_back');
      assert.match(s.reason!, /not confirmed within its boot attempts.*fell back to a/);
      assert.equal(s.next, 'none');
      const control = await slots.readControl();
      assert.equal(control.primary, 'a');
      assert.deepEqual(control.slots.b, { attemptsLeft: 0, good: false });
      assert.equal(await slots.readManifest('b'), undefined);
      assert.equal(await assertGoodSlot(slots), 'a');
      assert.equal(s.committedCounter, 1, 'the floor stays at the running release');
    } finally {
      cleanup(dir);
    }
  });

  it('falls back from a committed slot that later stops booting, without re-arming it', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
      await download(inst, IMAGE);
      await inst.verify();
      await inst.activate();
      await slots.boot();
      await inst.onBoot();
      await inst.confirm(true);
      // b is committed; then three boots of b die before the agent starts.
      for (let i = 0; i < 3; i++) assert.equal((await slots.boot()).slot, 'b');
      const sel = await slots.boot();
      assert.deepEqual([sel.slot, sel.fellBack], ['a', true]);
      const s = await (await openInstaller(dir, signer.check)).resume();
      assert.equal(s.state, 'committed', 'the install itself was committed');
      const control = await slots.readControl();
      assert.deepEqual(control.slots.b, { attemptsLeft: 0, good: true }, 'not re-armed');
      assert.deepEqual(
        control.slots.a,
        { attemptsLeft: 3, good: true },
        'the running slot re-armed',
      );
      assert.equal((await slots.boot()).slot, 'a');
    } finally {
      cleanup(dir);
    }
  });

  it('rolls back when the health check fails', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
      await download(inst, IMAGE);
      await inst.verify();
      await inst.activate();
      await slots.boot();
      await inst.onBoot();
      let s = await inst.confirm(false, 'hub unreachable after 60 s');
      assert.equal(s.state, 'rolled_back');
      assert.equal(s.reason, 'hub unreachable after 60 s');
      assert.equal(s.next, 'reboot', 'still running the bad slot until the reboot');
      assert.deepEqual((await slots.readControl()).slots.b, { attemptsLeft: 0, good: false });
      assert.equal((await slots.boot()).slot, 'a');
      s = await (await openInstaller(dir, signer.check)).resume();
      assert.equal(s.state, 'rolled_back');
      assert.equal(s.next, 'none');
      assert.deepEqual(s.history.at(-1), {
        state: 'rolled_back',
        at: s.history.at(-1)!.at,
        reason: 'hub unreachable after 60 s',
      });
      await assert.rejects(
        inst.confirm(true),
        (e: unknown) => e instanceof UpdateError && e.code === 'wrong_state',
      );
    } finally {
      cleanup(dir);
    }
  });

  it('refuses a flipped byte, a short image, an unsigned release and an over-long image; the running slot is untouched', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const controlBefore = await slots.readManifest('a');
      const check = async (why: RegExp) => {
        const s = await (await openInstaller(dir, signer.check)).status();
        assert.equal(s.state, 'failed');
        assert.match(s.reason!, why);
        const control = await slots.readControl();
        assert.equal(control.primary, 'a');
        assert.deepEqual(control.order, ['a', 'b']);
        assert.equal(control.slots.a.good, true);
        assert.deepEqual(control.slots.b, { attemptsLeft: 0, good: false });
        assert.equal(await slotHash(slots, 'a'), releaseOf(FACTORY, '', 0).sha256);
        assert.deepEqual(await slots.readManifest('a'), controlBefore);
        assert.equal(await slots.readManifest('b'), undefined);
        assert.equal((await slots.boot()).slot, 'a');
        await (await openInstaller(dir, signer.check)).resume();
      };
      const rel = signer.sign(releaseOf(IMAGE, '2.0.0', 2));

      // Flipped byte.
      let inst = await openInstaller(dir, signer.check);
      await inst.begin(rel);
      const bad = IMAGE.slice();
      bad[12_345] = bad[12_345]! ^ 0x01;
      await download(inst, bad);
      assert.equal((await inst.verify()).state, 'failed');
      await check(/sha256 .* does not match/);

      // Short: the slot lost its tail after the download completed.
      inst = await openInstaller(dir, signer.check);
      await inst.begin(rel);
      await download(inst, IMAGE);
      truncateSync(join(dir, 'slots', 'b', 'image'), IMAGE.length - 10);
      await inst.verify();
      await check(/image length 199990 does not match the release length 200000/);

      // Hash and length right, but no valid signature.
      const unsigned = releaseOf(makeImage(1000, 9), '2.0.1', 2);
      inst = await openInstaller(dir, signer.check);
      await inst.begin(unsigned);
      await download(inst, makeImage(1000, 9));
      await inst.verify();
      await check(/signature refused: no signature/);

      // More bytes than the metadata says.
      inst = await openInstaller(dir, signer.check);
      await inst.begin(rel);
      await inst.writeChunk(IMAGE.subarray(0, 100_000));
      await assert.rejects(
        inst.writeChunk(makeImage(100_001, 4)),
        (e: unknown) => e instanceof UpdateError && e.code === 'image_too_long',
      );
      await check(/image longer than its metadata says/);

      // A malformed release changes nothing.
      await assert.rejects(
        inst.begin({ ...rel, sha256: 'xyz' }),
        (e: unknown) => e instanceof UpdateError && e.code === 'invalid_release',
      );
      assert.equal((await inst.status()).state, 'failed');
    } finally {
      cleanup(dir);
    }
  });

  it('resumes a download from the persisted offset after a power cut, dropping bytes past it', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      let inst = await openInstaller(dir, signer.check);
      await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
      await inst.writeChunk(IMAGE.subarray(0, 70_000));
      await inst.writeChunk(IMAGE.subarray(70_000, 90_000));
      // Power cut in the middle of the next chunk: some of its bytes reached the disk, the offset
      // record did not.
      appendFileSync(join(dir, 'slots', 'b', 'image'), Buffer.from(makeImage(5000, 7)));
      await slots.boot();
      inst = await openInstaller(dir, signer.check);
      const s = await inst.resume();
      assert.equal(s.state, 'downloading');
      assert.equal(s.offset, 90_000);
      assert.equal(await slots.imageSize('b'), 90_000);
      await assert.rejects(
        inst.writeChunk(IMAGE.subarray(0, 10), 0),
        (e: unknown) => e instanceof UpdateError && e.code === 'offset_mismatch',
      );
      await assert.rejects(inst.writeChunk(IMAGE.subarray(95_000), 95_000), /continues at 90000/);
      assert.equal((await download(inst, IMAGE)).state, 'downloaded');
      assert.equal((await inst.verify()).state, 'installing');
    } finally {
      cleanup(dir);
    }
  });

  it('refuses a release counter below the committed one, and a second install while one runs', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      const img = makeImage(3000, 5);
      await inst.begin(signer.sign(releaseOf(img, '5.0.0', 5)));
      await assert.rejects(
        inst.begin(releaseOf(img, '5.0.0', 5)),
        (e: unknown) => e instanceof UpdateError && e.code === 'wrong_state',
      );
      await download(inst, img);
      await inst.verify();
      await inst.activate();
      await slots.boot();
      await inst.onBoot();
      await inst.confirm(true);
      const before = readFileSync(join(dir, 'state', 'update', 'install.json'), 'utf8');
      const controlBefore = await slots.readControl();
      await assert.rejects(
        inst.begin(signer.sign(releaseOf(IMAGE, '4.9.0', 4))),
        (e: unknown) =>
          e instanceof UpdateError &&
          e.code === 'downgrade' &&
          /counter 4 is below the committed counter 5/.test(e.message),
      );
      assert.equal(readFileSync(join(dir, 'state', 'update', 'install.json'), 'utf8'), before);
      assert.deepEqual(await slots.readControl(), controlBefore);
      // The floor also comes from the running slot's manifest (a lost or fresh install record).
      writeFileSync(
        join(dir, 'state', 'update', 'install.json'),
        JSON.stringify({ state: 'idle', offset: 0, committedCounter: 0, history: [] }),
      );
      await assert.rejects(
        (await openInstaller(dir, signer.check)).begin(releaseOf(IMAGE, '4.9.0', 4)),
        /below the committed counter 5/,
      );
      // Same counter (a re-install) is allowed.
      assert.equal(
        (
          await (
            await openInstaller(dir, signer.check)
          ).begin(signer.sign(releaseOf(IMAGE, '5.0.1', 5)))
        ).state,
        'downloading',
      );
    } finally {
      cleanup(dir);
    }
  });
});

describe('selectBootSlot (the bootloader)', () => {
  const control = (
    over: Partial<BootControl['slots']['a']>,
    b: Partial<BootControl['slots']['b']>,
  ): BootControl => ({
    primary: 'a',
    order: ['a', 'b'],
    slots: {
      a: { attemptsLeft: 0, good: false, ...over },
      b: { attemptsLeft: 0, good: true, ...b },
    },
  });

  it('boots the primary while it has attempts, else the first good slot with attempts, else a good one', () => {
    let sel = selectBootSlot(control({ good: true, attemptsLeft: 2 }, {}));
    assert.deepEqual([sel.slot, sel.fellBack, sel.control.slots.a.attemptsLeft], ['a', false, 1]);
    const input = control({ attemptsLeft: 2 }, {});
    sel = selectBootSlot(input);
    assert.deepEqual([sel.slot, sel.fellBack, sel.control.slots.a.attemptsLeft], ['a', false, 1]);
    assert.equal(input.slots.a.attemptsLeft, 2, 'the input record is not modified');
    sel = selectBootSlot(control({ attemptsLeft: 0 }, { attemptsLeft: 3 }));
    assert.deepEqual([sel.slot, sel.fellBack, sel.control.slots.b.attemptsLeft], ['b', true, 2]);
    // A slot that is not good is never a fallback, even with attempts.
    sel = selectBootSlot(
      control({ good: true, attemptsLeft: 0 }, { good: false, attemptsLeft: 3 }),
    );
    assert.deepEqual([sel.slot, sel.fellBack, sel.control.slots.a.attemptsLeft], ['a', false, 0]);
    // Last resort: every counter is 0, a good slot boots without consuming.
    sel = selectBootSlot(control({ attemptsLeft: 0 }, { attemptsLeft: 0 }));
    assert.deepEqual([sel.slot, sel.fellBack], ['b', true]);
    assert.throws(() => selectBootSlot(control({}, { good: false })), /no bootable slot/);
    assert.throws(
      () => selectBootSlot({ primary: 'c', order: [], slots: {} } as unknown as BootControl),
      /invalid boot-control record: primary/,
    );
  });
});

describe('DirectorySlots and the install record on bad input', () => {
  it('refuses a mismatched factory image, a second provisioning, a damaged record and an empty release', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      const { DirectorySlots } = await import('../src/update/directory-slots.js');
      const fresh = await DirectorySlots.open(join(dir, 'fresh'));
      await assert.rejects(fresh.boot(), /no boot-control record/);
      await assert.rejects(fresh.booted(), /the bootloader has not run/);
      await assert.rejects(
        fresh.installFactory('a', FACTORY.subarray(1), releaseOf(FACTORY, '1.0.0', 1)),
        /does not match its manifest/,
      );
      const slots = await provision(dir);
      await assert.rejects(
        slots.installFactory('b', FACTORY, releaseOf(FACTORY, '1.0.0', 1)),
        /already provisioned/,
      );
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      await assert.rejects(
        inst.begin(releaseOf(new Uint8Array(), '2.0.0', 2)),
        (e: unknown) => e instanceof UpdateError && e.code === 'invalid_release',
      );
      mkdirSync(join(dir, 'state', 'update'), { recursive: true });
      writeFileSync(join(dir, 'state', 'update', 'install.json'), '{"state":"flying"}');
      await assert.rejects(
        openInstaller(dir, signer.check),
        /invalid install record: unknown state/,
      );
    } finally {
      cleanup(dir);
    }
  });
});

describe('delta figures and the full-image retry in the install record', () => {
  it('adds up where the bytes came from, retries a delta-built mismatch once in full, refuses a damaged figure', async () => {
    const dir = tempDir('bulwark-update-');
    try {
      await provision(dir);
      const signer = new TestSigner();
      const inst = await openInstaller(dir, signer.check);
      await inst.resume();
      await inst.begin(signer.sign(releaseOf(IMAGE, '2.0.0', 2)));
      const bad = Buffer.from(IMAGE);
      bad[150_000] = bad[150_000]! ^ 1;
      await inst.writeChunk(bad.subarray(0, 100_000), 0, { downloaded: 40_000, reused: 60_000 });
      let s = await inst.writeChunk(bad.subarray(100_000), 100_000, {
        downloaded: 100_000,
        reused: 0,
      });
      assert.deepEqual(s.delta, {
        totalBytes: 200_000,
        downloadedBytes: 140_000,
        reusedBytes: 60_000,
      });
      s = await inst.verify();
      assert.deepEqual(
        [s.state, s.next, s.offset, s.fullImage, s.delta],
        ['downloading', 'download', 0, true, undefined],
      );
      // A restart keeps the retry a full one; its mismatch fails the install.
      const again = await openInstaller(dir, signer.check);
      s = await again.resume();
      assert.deepEqual([s.state, s.fullImage], ['downloading', true]);
      await again.writeChunk(bad, 0, { downloaded: 200_000, reused: 0 });
      s = await again.verify();
      assert.deepEqual([s.state, s.code], ['failed', 'hash_mismatch']);
      const file = join(dir, 'state', 'update', 'install.json');
      const rec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      rec.delta = { totalBytes: -1, downloadedBytes: 0, reusedBytes: 0 };
      writeFileSync(file, JSON.stringify(rec));
      await assert.rejects(openInstaller(dir, signer.check), /invalid install record: delta/);
    } finally {
      cleanup(dir);
    }
  });
});

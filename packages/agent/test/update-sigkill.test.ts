/**
 * SIGKILL of a real process in the middle of an install (mid-download, then around verification),
 * restarts that resume, and a simulated reboot: the device ends committed on the new slot and always
 * has a good slot in between.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertGoodSlot,
  makeImage,
  provision,
  releaseOf,
  slotHash,
  TestSigner,
} from './update-fixtures.js';
import { cleanup, tempDir } from './helpers.js';
import { spawnLines, type LineProcess } from './process-helpers.js';

const CHILD = fileURLToPath(new URL('./update-child.js', import.meta.url));

type Child = LineProcess;

const runChild = (dir: string, specFile: string): Child => spawnLines([CHILD, dir, specFile]);
const line = (c: Child, pred: (l: string) => boolean, ms = 20_000) =>
  c.waitFor((l) => (pred(l) ? l : undefined), ms);

describe('SIGKILL of the installing process', () => {
  it('resumes after kill -9 mid-download and mid-verification, and commits after the reboot', async () => {
    const dir = tempDir('bulwark-update-kill-');
    const children: Child[] = [];
    try {
      const slots = await provision(dir);
      const signer = new TestSigner();
      const imageLength = 8 * 1024 * 1024;
      const image = makeImage(imageLength, 21);
      const release = signer.sign(releaseOf(image, '2.0.0', 2));
      const specFile = join(dir, 'release.json');
      writeFileSync(
        specFile,
        JSON.stringify({
          release,
          signature: signer.signatures.get(release.sha256)!.toString('base64'),
          publicKey: signer.publicKey.export({ type: 'spki', format: 'pem' }),
          imageLength,
          seed: 21,
          chunk: 65_536,
        }),
      );

      // 1. Killed in the middle of the download.
      let c = runChild(dir, specFile);
      children.push(c);
      const mid = await line(
        c,
        (l) => /^state downloading (\d+)$/.test(l) && Number(l.split(' ')[2]) >= 1 << 20,
      );
      await c.kill9();
      const killedAt = Number(mid.split(' ')[2]);
      await assertGoodSlot(slots);
      assert.equal((await slots.readControl()).primary, 'a');

      // 2. Restart (no reboot): continues from the persisted offset; killed again once verifying.
      c = runChild(dir, specFile);
      children.push(c);
      const first = await line(c, (l) => l.startsWith('state '));
      const resumedAt = Number(first.split(' ')[2]);
      assert.match(first, /^state downloading \d+$/);
      assert.ok(resumedAt >= killedAt && resumedAt < imageLength, `resumed at ${resumedAt}`);
      await line(
        c,
        (l) => /^state (verifying|installing|rebooting) /.test(l) || l === 'reboot-required',
      );
      await c.kill9();
      await assertGoodSlot(slots);

      // 3. Restarts until the install asks for the reboot (bounded), then the reboot, then the commit.
      let rebooted = false;
      for (let run = 0; run < 4; run++) {
        c = runChild(dir, specFile);
        children.push(c);
        const last = await line(c, (l) => l === 'reboot-required' || l.startsWith('done '));
        await c.exited;
        if (last === 'reboot-required') {
          assert.equal(rebooted, false, 'a second reboot was requested');
          assert.equal((await slots.boot()).slot, 'b');
          rebooted = true;
          continue;
        }
        assert.equal(last, 'done committed');
        break;
      }
      assert.ok(rebooted);
      assert.equal(c.lines.at(-1), 'done committed');
      const control = await slots.readControl();
      assert.equal(control.primary, 'b');
      assert.deepEqual(control.slots.b, { attemptsLeft: 3, good: true });
      assert.equal(await slotHash(slots, 'b'), release.sha256);
    } finally {
      for (const c of children) await c.kill9();
      cleanup(dir);
    }
  });
});

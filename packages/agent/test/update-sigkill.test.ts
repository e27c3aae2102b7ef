/**
 * SIGKILL of a real process in the middle of an install (mid-download, then around verification),
 * restarts that resume, and a simulated reboot: the device ends committed on the new slot and always
 * has a good slot in between.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

const CHILD = fileURLToPath(new URL('./update-child.js', import.meta.url));

interface Child {
  lines: string[];
  /** Resolves with the first line matching `pred`, or rejects when the child exits first / after ms. */
  waitLine(pred: (l: string) => boolean, ms?: number): Promise<string>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

function runChild(dir: string, specFile: string): Child {
  const child = spawn(process.execPath, [CHILD, dir, specFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      done = true;
      for (const w of waiters) w();
      r(code);
    }),
  );
  return {
    lines,
    exited,
    waitLine(pred, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines.find(pred);
          if (l !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(l);
          } else if (done) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`child exited without the line:\n${lines.join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such line within ${ms} ms:\n${lines.join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

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
      const mid = await c.waitLine(
        (l) => /^state downloading (\d+)$/.test(l) && Number(l.split(' ')[2]) >= 1 << 20,
      );
      await c.kill9();
      const killedAt = Number(mid.split(' ')[2]);
      await assertGoodSlot(slots);
      assert.equal((await slots.readControl()).primary, 'a');

      // 2. Restart (no reboot): continues from the persisted offset; killed again once verifying.
      c = runChild(dir, specFile);
      children.push(c);
      const first = await c.waitLine((l) => l.startsWith('state '));
      const resumedAt = Number(first.split(' ')[2]);
      assert.match(first, /^state downloading \d+$/);
      assert.ok(resumedAt >= killedAt && resumedAt < imageLength, `resumed at ${resumedAt}`);
      await c.waitLine(
        (l) => /^state (verifying|installing|rebooting) /.test(l) || l === 'reboot-required',
      );
      await c.kill9();
      await assertGoodSlot(slots);

      // 3. Restarts until the install asks for the reboot (bounded), then the reboot, then the commit.
      let rebooted = false;
      for (let run = 0; run < 4; run++) {
        c = runChild(dir, specFile);
        children.push(c);
        const last = await c.waitLine((l) => l === 'reboot-required' || l.startsWith('done '));
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

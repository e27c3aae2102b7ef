/**
 * Power loss at every persisted step of an install: the slot store and the state files are wrapped so
 * that the k-th durable write completes and then the "power" goes (every later call fails, the
 * Installer object is dropped). Power-on: the bootloader runs, a new Installer on the same directory
 * resumes and the install is driven to its end. Every run ends on a good slot in the right state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirFiles } from '../src/files/dir-files.js';
import { DirectorySlots } from '../src/update/directory-slots.js';
import type { Installer, InstallStatus } from '../src/update/index.js';
import {
  assertGoodSlot,
  makeImage,
  openInstaller,
  provision,
  releaseOf,
  slotHash,
  TestSigner,
} from './update-fixtures.js';
import { cleanup, tempDir } from './helpers.js';

class PowerCut extends Error {}

const MUTATING = new Set([
  'write',
  'remove',
  'wipe',
  'writeControl',
  'writeManifest',
  'truncateImage',
  'writeImage',
]);

/** Wraps a port so that after `budget.left` durable writes (across all wrapped ports) power is lost. */
function cuttable<T extends object>(target: T, budget: { left: number; writes: number }): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const name = String(prop);
      return (...args: unknown[]) => {
        if (budget.left <= 0) throw new PowerCut('power is off');
        const out = (v as (...a: unknown[]) => unknown).apply(obj, args);
        if (!MUTATING.has(name)) return out;
        return (out as Promise<unknown>).then((r) => {
          budget.writes += 1;
          budget.left -= 1;
          if (budget.left <= 0)
            throw new PowerCut(`power lost after write ${budget.writes} (${name})`);
          return r;
        });
      };
    },
  });
}

const IMAGE = makeImage(150_000, 11);
const CHUNK = 40_000;

/** Drives an install from whatever state it is in to its end; `healthy` is the health check's verdict. */
async function drive(
  inst: Installer,
  slots: { boot(): Promise<unknown> },
  healthy: boolean,
  start?: InstallStatus,
): Promise<InstallStatus> {
  let s = start ?? (await inst.status());
  for (let i = 0; i < 50; i++) {
    switch (s.next) {
      case 'download':
        s = await inst.writeChunk(IMAGE.subarray(s.offset, s.offset + CHUNK));
        break;
      case 'verify':
        s = await inst.verify();
        break;
      case 'activate':
        s = await inst.activate();
        break;
      case 'reboot':
        await slots.boot();
        s = await inst.onBoot();
        break;
      case 'health-check':
        s = await inst.confirm(healthy, 'health check failed');
        break;
      case 'none':
        return s;
    }
  }
  throw new Error(`install did not settle: ${JSON.stringify(s)}`);
}

async function scenario(dir: string, healthy: boolean, budget: { left: number; writes: number }) {
  const raw = await provision(dir);
  const signer = new TestSigner();
  const rel = signer.sign(releaseOf(IMAGE, '2.0.0', 2));
  const wrappedSlots = cuttable(await DirectorySlots.open(join(dir, 'slots')), budget);
  const wrappedFiles = cuttable(await DirFiles.open(join(dir, 'state')), budget);
  // The start of the agent before the install (re-arms the running slot), outside the cut budget.
  await (await openInstaller(dir, signer.check)).resume();
  let cut = false;
  try {
    const inst = await openInstaller(dir, signer.check, {
      slots: wrappedSlots,
      files: wrappedFiles,
    });
    const s = await inst.begin(rel);
    // The bootloader of the "reboot" step must not be cut: it is the raw store.
    await drive(inst, raw, healthy, s);
  } catch (err) {
    if (!(err instanceof PowerCut)) throw err;
    cut = true;
  }
  return { raw, signer, rel, cut };
}

describe('power loss at every persisted step of an install', () => {
  for (const healthy of [true, false]) {
    it(`ends on a good slot, ${healthy ? 'committed' : 'rolled back'}, whichever write the power cut follows`, async () => {
      // Dry run: how many durable writes a whole install takes.
      const dry = tempDir('bulwark-update-cut-');
      let total: number;
      try {
        const budget = { left: Infinity, writes: 0 };
        const { cut } = await scenario(dry, healthy, budget);
        assert.equal(cut, false);
        total = budget.writes;
      } finally {
        cleanup(dry);
      }
      console.log(
        `# ${healthy ? 'healthy' : 'unhealthy'} install: ${total} durable writes, each followed by a power cut`,
      );
      assert.ok(total > 15, `an install is ${total} durable writes`);

      const outcomes = new Map<string, number>();
      for (let k = 1; k <= total; k++) {
        const dir = tempDir('bulwark-update-cut-');
        try {
          const { raw, signer, rel, cut } = await scenario(dir, healthy, { left: k, writes: 0 });
          assert.equal(cut, k < total || cut, `cut at ${k}`);
          const file = join(dir, 'state', 'update', 'install.json');
          const atCut = existsSync(file)
            ? (JSON.parse(readFileSync(file, 'utf8')) as { state: string }).state
            : 'none';
          // Power on: the invariant holds before anything runs, the bootloader boots, the agent resumes.
          await assertGoodSlot(raw);
          await raw.boot();
          const inst = await openInstaller(dir, signer.check);
          const resumed = await inst.resume();
          await assertGoodSlot(raw);
          const end = await drive(inst, raw, healthy, resumed);
          outcomes.set(`${atCut}→${end.state}`, (outcomes.get(`${atCut}→${end.state}`) ?? 0) + 1);
          if (healthy) {
            assert.equal(end.state, 'committed', `cut after write ${k}: ${JSON.stringify(end)}`);
            assert.deepEqual((await raw.readControl()).slots.b, { attemptsLeft: 3, good: true });
            assert.equal((await raw.boot()).slot, 'b');
            assert.equal(await slotHash(raw, 'b'), rel.sha256);
            assert.equal(end.committedCounter, 2);
          } else {
            assert.equal(end.state, 'rolled_back', `cut after write ${k}: ${JSON.stringify(end)}`);
            assert.equal(end.reason, 'health check failed');
            assert.equal((await raw.boot()).slot, 'a');
            assert.deepEqual((await raw.readControl()).slots.b, { attemptsLeft: 0, good: false });
            assert.equal(end.committedCounter, 1);
          }
          assert.equal((await raw.readControl()).slots.a.good, true);
        } finally {
          cleanup(dir);
        }
      }
      // Every persisted state was hit by some cut.
      const cutStates = new Set([...outcomes.keys()].map((k) => k.split('→')[0]));
      for (const st of [
        'downloading',
        'downloaded',
        'verifying',
        'installing',
        'rebooting',
        'confirming',
      ])
        assert.ok(
          cutStates.has(st),
          `no cut left the install in ${st}: ${[...cutStates].join(', ')}`,
        );
      console.log(`cut → end: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      assert.ok(cutStates.has(healthy ? 'committed' : 'rolled_back'));
    });
  }
});

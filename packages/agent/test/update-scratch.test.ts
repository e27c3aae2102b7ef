/**
 * The scratch area of a delta download: it keeps the new image's chunks that only the inactive slot
 * holds (hashed as cut), no more than its cap, and it is removed when stale.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chunkImage } from '@bulwark/firmware';
import { MemoryFiles } from '../src/files/memory-files.js';
import { MemorySlots } from '../src/update/memory-slots.js';
import { ChunkScratch } from '../src/update/scratch.js';
import { noise, releaseOf } from './update-fixtures.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('ChunkScratch', () => {
  const v1 = noise(300_000, 1);
  const v2 = noise(300_000, 2);
  // v3: a part of v1, a part of v2 (the running slot), something new.
  const v3 = Buffer.concat([v1.subarray(0, 120_000), v2.subarray(0, 100_000), noise(50_000, 3)]);

  const setup = async () => {
    const slots = await MemorySlots.provisioned(v2, releaseOf(v2, '2.0.0', 2));
    await slots.writeImage('b', 0, v1);
    await slots.writeManifest('b', releaseOf(v1, '1.0.0', 1));
    return { slots, files: new MemoryFiles(), index: await chunkImage(v3) };
  };

  it('keeps the chunks only the inactive slot holds, each readable and intact', async () => {
    const { slots, files, index } = await setup();
    const scratch = new ChunkScratch(files);
    const release = { sha256: sha(v3), length: v3.byteLength };
    const opts = { index, release, slots, running: 'a' as const, inactive: 'b' as const };
    const kept = await scratch.stash(opts);
    assert.ok(kept > 100_000 && kept <= 120_000, `${kept}`);
    let found = 0;
    for (const c of index.chunks) {
      if (!scratch.has(c.sha256)) continue;
      found += c.length;
      assert.ok(c.offset + c.length <= 120_000, 'only chunks of the v1 part');
      assert.equal(sha((await scratch.read(c.sha256))!), c.sha256);
    }
    assert.equal(found, kept);
    // The cap: chunks past it are left to download.
    const capped = await scratch.stash({ ...opts, cap: 50_000 });
    assert.ok(capped > 0 && capped <= 50_000, `${capped}`);
    // Loaded again for the same release it stays; for another one (or none) it is removed.
    const again = new ChunkScratch(files);
    await again.load(release.sha256);
    assert.equal(again.active, true);
    await again.load(sha(v1));
    assert.equal(again.active, false);
    assert.deepEqual(await files.list('update/scratch/'), []);
  });

  it('keeps nothing when the running slot already holds every chunk, or the index is unusable', async () => {
    const { slots, files } = await setup();
    const scratch = new ChunkScratch(files);
    const common = { slots, running: 'a' as const, inactive: 'b' as const };
    const index = await chunkImage(v2);
    const r2 = { sha256: sha(v2), length: v2.byteLength };
    assert.equal(await scratch.stash({ ...common, index, release: r2 }), 0);
    const bad = { ...(await chunkImage(v3)), algorithm: 'fastcdc-gear64-2k-8k-64k' };
    const r3 = { sha256: sha(v3), length: v3.byteLength };
    assert.equal(await scratch.stash({ ...common, index: bad, release: r3 }), 0);
    assert.deepEqual(await files.list('update/scratch/'), []);
  });
});

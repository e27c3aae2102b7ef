#!/usr/bin/env node
// `npm run bench:ota-delta`: what a delta download saves on a realistic firmware change, for a few
// chunking parameter sets, and how fast the chunker runs. Deterministic (seeded PRNG), no network:
// the real agent code (`imageSource`) runs against an in-memory running slot holding the old image
// and a counting range fetcher serving the new one. Run after `tsc -b`.
//
// The image is a tar-like archive (512-byte headers, data padded to 512) of a small Linux system:
// a compressed kernel, compressed-like blobs, code-like binaries and libraries (low entropy, built
// from a vocabulary of byte sequences), text configs and a version file. Scenarios:
//   app update    — version string and build id changed, one binary patched in 6 places plus 1 KiB
//                   of new code, one library replaced, a new 80 KiB file in the middle of the
//                   archive, two config lines edited, mtimes of the changed files;
//   + kernel      — the same plus a rebuilt (fully different) compressed kernel.
// Env: SIZE_MIB (default: 1 and 16), REPEAT (chunking throughput runs, default 3).
import { createHash } from 'node:crypto';
import {
  chunkAlgorithm,
  chunkImage,
  paramsForLength,
} from '../packages/firmware/dist/src/index.js';
import { imageSource } from '../packages/agent/dist/src/update/delta.js';
import { archive, system, update } from './ota-images.mjs';

const SIZES = process.env.SIZE_MIB ? [Number(process.env.SIZE_MIB)] : [1, 16];
const REPEAT = Number(process.env.REPEAT ?? 3);
const PARAM_SETS = [
  { min: 1024, avg: 4096, max: 32768, nc: 2 },
  { min: 2048, avg: 8192, max: 65536, nc: 1 },
  { min: 2048, avg: 8192, max: 65536, nc: 2 },
  { min: 4096, avg: 16384, max: 131072, nc: 2 },
  { min: 8192, avg: 32768, max: 262144, nc: 2 },
  { min: 16384, avg: 65536, max: 524288, nc: 2 },
];

/** A running slot holding `image`, as much of a SlotStore as imageSource reads. */
function runningSlot(image) {
  return {
    readManifest: async () => undefined,
    imageSize: async () => image.length,
    async *readImage() {
      for (let at = 0; at < image.length; at += 65536) yield image.subarray(at, at + 65536);
    },
  };
}

async function delta(oldImage, newImage, algorithm) {
  const index = await chunkImage(newImage, algorithm);
  let requests = 0;
  let sent = 0;
  const fetch = async function* (offset, end) {
    requests++;
    for (let at = offset; at <= end; at += 65536) {
      const piece = newImage.subarray(at, Math.min(at + 65536, end + 1));
      sent += piece.length;
      yield piece;
    }
  };
  const src = imageSource({
    index,
    slots: runningSlot(oldImage),
    reuse: ['a'],
    fetch,
    from: 0,
    length: newImage.length,
  });
  const h = createHash('sha256');
  for await (const piece of src.chunks) h.update(piece);
  if (h.digest('hex') !== createHash('sha256').update(newImage).digest('hex'))
    throw new Error('delta output differs from the new image');
  const s = src.saving();
  if (s.downloadedBytes !== sent) throw new Error('downloaded bytes do not match the fetches');
  return { index, saving: s, requests, indexBytes: Buffer.byteLength(JSON.stringify(index)) };
}

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const pct = (a, b) => `${((100 * a) / b).toFixed(1)} %`;

for (const sizeMiB of SIZES) {
  const oldSys = system(sizeMiB * 1048576);
  const oldImage = archive(oldSys.files);
  for (const [label, kernel] of [
    ['app update', false],
    ['app + kernel update', true],
  ]) {
    const { image: newImage, changed } = update(oldSys, kernel);
    console.log(
      `\n${(oldImage.length / 1048576).toFixed(1)} MiB system, ${label}: old ${kib(oldImage.length)}, new ${kib(newImage.length)}, ` +
        `changed or new files ${kib(changed)} (${pct(changed, newImage.length)})`,
    );
    console.log(
      'algorithm                              chunks  index JSON  reused       downloaded  requests  saving  saving net of index',
    );
    const sets = [...PARAM_SETS.map(chunkAlgorithm)];
    const auto = chunkAlgorithm(paramsForLength(newImage.length));
    for (const alg of sets) {
      const r = await delta(oldImage, newImage, alg);
      const net = newImage.length - r.saving.downloadedBytes - r.indexBytes;
      console.log(
        `${(alg + (alg === auto ? ' *' : '')).padEnd(38)} ${String(r.index.chunks.length).padStart(6)}  ${kib(r.indexBytes).padStart(10)}  ${kib(r.saving.reusedBytes).padStart(11)}  ${kib(r.saving.downloadedBytes).padStart(10)}  ${String(r.requests).padStart(8)}  ${pct(newImage.length - r.saving.downloadedBytes, newImage.length).padStart(6)}  ${pct(net, newImage.length).padStart(6)}`,
      );
    }
    // Reference: fixed 4 KiB blocks (no content-defined boundaries) on the same change.
    const blocks = (b) => {
      const m = new Set();
      for (let at = 0; at < b.length; at += 4096)
        m.add(
          createHash('sha256')
            .update(b.subarray(at, at + 4096))
            .digest('hex'),
        );
      return m;
    };
    const have = blocks(oldImage);
    let fixed = 0;
    for (let at = 0; at < newImage.length; at += 4096) {
      const blk = newImage.subarray(at, at + 4096);
      if (have.has(createHash('sha256').update(blk).digest('hex'))) fixed += blk.length;
    }
    console.log(
      `reference: fixed 4 KiB blocks reuse ${kib(fixed)} (saving ${pct(fixed, newImage.length)}); * = the default sign picks for this size`,
    );
  }
  // Chunking throughput (what `firmware sign` and the device's slot indexing cost).
  let best = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await chunkImage(oldImage, chunkAlgorithm(paramsForLength(oldImage.length)));
    best = Math.min(best, performance.now() - t0);
  }
  console.log(
    `chunking throughput (sha256 included), ${(oldImage.length / 1048576).toFixed(1)} MiB: ${(oldImage.length / 1048576 / (best / 1000)).toFixed(0)} MiB/s (best of ${REPEAT})`,
  );
}

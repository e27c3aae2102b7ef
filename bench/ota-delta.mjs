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

/** mulberry32: a small seeded PRNG, so every run builds the same images. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes (compressed kernels, squashfs blobs, firmware for radios). */
function randomBytes(rand, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** Code-like bytes: picks from a vocabulary of short byte sequences (instructions, constants). */
function codeBytes(rand, n, vocab) {
  const parts = [];
  let len = 0;
  while (len < n) {
    const w = vocab[(rand() * vocab.length) | 0];
    parts.push(w);
    len += w.length;
  }
  return Buffer.concat(parts).subarray(0, n);
}

const WORDS =
  'enable disable port host timeout retry interval level debug info warn path user group mode size buffer queue worker thread cache'.split(
    ' ',
  );
function textBytes(rand, n) {
  const lines = [];
  let len = 0;
  while (len < n) {
    const k = WORDS[(rand() * WORDS.length) | 0];
    const l = `${k}_${WORDS[(rand() * WORDS.length) | 0]} = ${(rand() * 10000) | 0}\n`;
    lines.push(l);
    len += l.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}

/** A 512-byte tar-like header: name, mode, size, mtime as text fields. */
function header(f) {
  const h = Buffer.alloc(512);
  h.write(f.name, 0);
  h.write('0000755\0', 100);
  h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${f.mtime.toString(8).padStart(11, '0')}\0`, 136);
  h.write('ustar\0', 257);
  return h;
}

function archive(files) {
  const parts = [];
  for (const f of files) {
    parts.push(header(f), f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The old system, about `size` bytes. */
function system(size) {
  const rand = prng(0x5eed);
  const vocab = Array.from({ length: 512 }, () => randomBytes(rand, 2 + ((rand() * 7) | 0)));
  const files = [];
  const add = (name, data) => files.push({ name, data, mtime: 1_700_000_000 });
  add('boot/zImage', randomBytes(rand, Math.round(size * 0.3)));
  add('etc/os-release', Buffer.from('NAME=Bulwark OS\nVERSION_ID=1.2.0\nBUILD=20261101\n'));
  for (let i = 0; i < 12; i++)
    add(`etc/conf.d/svc${i}.conf`, textBytes(rand, 400 + ((rand() * 3000) | 0)));
  let left = size - files.reduce((n, f) => n + f.data.length + 512, 0);
  for (let i = 0; left > 0; i++) {
    const kind = i % 4;
    const n = Math.min(left, Math.round(size * (0.01 + rand() * 0.05)));
    if (kind === 0) add(`usr/lib/lib${i}.so`, codeBytes(rand, n, vocab));
    else if (kind === 1) add(`usr/bin/tool${i}`, codeBytes(rand, n, vocab));
    else if (kind === 2) add(`usr/share/blob${i}.bin`, randomBytes(rand, n));
    else add(`usr/share/doc/readme${i}.txt`, textBytes(rand, Math.min(n, 20_000)));
    left -= n + 512;
  }
  add(
    'usr/bin/app',
    Buffer.concat([
      Buffer.from('BUILD-ID:1.2.0-abcdef0123456789\0'),
      codeBytes(rand, Math.round(size * 0.08), vocab),
    ]),
  );
  return { files, vocab };
}

/** The new version: an app update (and, with `kernel`, a rebuilt kernel). */
function update(old, kernel) {
  const rand = prng(0xbeef);
  const t = 1_700_086_400;
  const files = old.files.map((f) => ({ ...f, data: Buffer.from(f.data) }));
  const get = (name) => files.find((f) => f.name === name);
  const touch = (f, data) => Object.assign(f, { data, mtime: t });
  touch(get('etc/os-release'), Buffer.from('NAME=Bulwark OS\nVERSION_ID=1.2.1\nBUILD=20261124\n'));
  const app = get('usr/bin/app');
  let code = Buffer.from(app.data);
  code.write('BUILD-ID:1.2.1-fedcba9876543210\0', 0);
  for (let i = 0; i < 6; i++) {
    const at = 64 + Math.floor(rand() * (code.length - 400));
    codeBytes(rand, 200, old.vocab).copy(code, at);
  }
  const mid = Math.floor(code.length / 2);
  code = Buffer.concat([
    code.subarray(0, mid),
    codeBytes(rand, 1024, old.vocab),
    code.subarray(mid),
  ]);
  touch(app, code);
  const lib = files.find((f) => f.name.startsWith('usr/lib/'));
  touch(lib, codeBytes(rand, lib.data.length + 3000, old.vocab));
  for (const name of ['etc/conf.d/svc3.conf', 'etc/conf.d/svc7.conf']) {
    const f = get(name);
    touch(f, Buffer.from(f.data.toString('latin1').replace(/= \d+/, '= 42'), 'latin1'));
  }
  files.splice(Math.floor(files.length / 2), 0, {
    name: 'usr/lib/libnew.so',
    data: codeBytes(rand, 80 * 1024, old.vocab),
    mtime: t,
  });
  if (kernel) touch(get('boot/zImage'), randomBytes(rand, get('boot/zImage').data.length + 4096));
  // Bytes of files that are new or changed: what a file-level delta would have to send at least.
  const changed = files.filter((f) => f.mtime === t).reduce((n, f) => n + f.data.length, 0);
  return { image: archive(files), changed };
}

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

// Realistic firmware images for the OTA benchmarks (bench:ota, bench:ota-delta), deterministic
// (seeded PRNG). The image is a tar-like archive (512-byte headers, data padded to 512) of a small
// Linux system: a compressed kernel, compressed-like blobs, code-like binaries and libraries (low
// entropy, built from a vocabulary of byte sequences), text configs and a version file.
//   system(size)          — the old system, about `size` bytes: { files, vocab }; archive(files) → bytes;
//   update(old, kernel)   — an app update (version string and build id, one binary patched in 6
//                           places plus 1 KiB of new code, one library replaced, a new 80 KiB file in
//                           the middle, two config lines) and with `kernel` a rebuilt kernel too:
//                           { image, changed } (changed: bytes of new or changed files).
/** mulberry32: a small seeded PRNG, so every run builds the same images. */
export function prng(seed) {
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

export function archive(files) {
  const parts = [];
  for (const f of files) {
    parts.push(header(f), f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The old system, about `size` bytes. */
export function system(size) {
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
export function update(old, kernel) {
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

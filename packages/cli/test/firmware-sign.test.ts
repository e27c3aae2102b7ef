/**
 * `bulwark keys init|rotate` and `bulwark firmware sign|verify` through the CLI's main, in a temp
 * dir: key files 0600, no overwrite, a growing release counter, and refusals with their exit codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@bulwark/cli';
import {
  chunkImage,
  createRelease,
  expiryAfter,
  signingKeyFromPem,
  signMetadata,
  verifyRootUpdate,
} from '@bulwark/firmware';
import { captureIo, firmwareSignArgs } from './helpers.js';

interface Signed {
  metadata: string;
  release: {
    releaseCounter: number;
    version: string;
    types: string[];
    hardware: string[];
    signedBy: string[];
  };
}

/** `firmware sign fw.img --keys keys --type rpi4 --version VERSION …more`. */
const signArgs = (version: string, ...more: string[]) => firmwareSignArgs('rpi4', version, ...more);

describe('bulwark keys / firmware', () => {
  let dir: string;
  const run = async (...argv: string[]) => {
    const c = captureIo({}, dir);
    const code = await main(argv, c.io);
    return { code, out: c.stdout, err: c.stderr };
  };
  const ok = async <T>(...argv: string[]): Promise<T> => {
    const r = await run(...argv, '--json');
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
    return JSON.parse(r.out) as T;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-fw-cli-'));
    const image = Buffer.alloc(300_000);
    for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 0xff;
    await writeFile(join(dir, 'fw.img'), image);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('keys init writes root.json and 0600 private keys, and refuses to overwrite', async () => {
    const s = await ok<{ releaseKeys: string[]; releaseThreshold: number; rootKeys: string[] }>(
      'keys',
      'init',
      '--dir',
      'keys',
      '--release-keys',
      '3',
      '--threshold',
      '2',
    );
    assert.equal(s.releaseKeys.length, 3);
    assert.equal(s.releaseThreshold, 2);
    const files = (await readdir(join(dir, 'keys', 'keys'))).sort();
    assert.equal(files.length, 4);
    for (const f of files) {
      assert.equal((await stat(join(dir, 'keys', 'keys', f))).mode & 0o777, 0o600, f);
    }
    assert.ok(files.some((f) => f.startsWith('root-')));
    const root = JSON.parse(await readFile(join(dir, 'keys', 'root.json'), 'utf8')) as {
      signed: { _type: string };
    };
    assert.equal(root.signed._type, 'root');
    assert.doesNotMatch(JSON.stringify(root), /PRIVATE/);
    const again = await run('keys', 'init', '--dir', 'keys');
    assert.equal(again.code, 1);
    assert.match(again.err, /refusing to overwrite/);
    assert.equal((await readdir(join(dir, 'keys', 'keys'))).length, 4);
  });

  test('usage errors exit 2 and write nothing', async () => {
    assert.equal(
      (await run('keys', 'init', '--dir', 'k2', '--threshold', '4', '--release-keys', '3')).code,
      2,
    );
    assert.equal((await run('keys', 'init', '--dir', 'k2', '--algorithm', 'rsa')).code, 2);
    assert.equal((await run('keys', 'init')).code, 2);
    await assert.rejects(stat(join(dir, 'k2')));
    assert.equal(
      (await run('firmware', 'sign', 'fw.img', '--keys', 'keys', '--version', '1.0.0')).code,
      2,
    );
    assert.equal((await run(...signArgs('latest'))).code, 2);
  });

  test('sign then verify; the counter grows; --counter must be above the last', async () => {
    const a = await ok<Signed>(
      ...signArgs('1.2.0', '--min-version', '1.0.0', '--hardware', 'rev-b', '--hardware', 'rev-c'),
    );
    assert.equal(a.release.releaseCounter, 1);
    assert.equal(a.release.signedBy.length, 3);
    assert.deepEqual(a.release.hardware, ['rev-b', 'rev-c']);
    assert.equal(a.metadata, join(dir, 'fw.img.meta.json'));
    const v = await ok<{ ok: boolean; release: Signed['release'] }>(
      'firmware',
      'verify',
      'fw.img',
      'fw.img.meta.json',
      '--root',
      'keys/root.json',
    );
    assert.equal(v.release.version, '1.2.0');
    const text = await run(
      'firmware',
      'verify',
      'fw.img',
      'fw.img.meta.json',
      '--root',
      'keys/root.json',
    );
    assert.match(text.out, /verified\s+ok/);

    const b = await ok<Signed>(...signArgs('1.2.1', '--out', 'b.json'));
    assert.equal(b.release.releaseCounter, 2);
    const c = await ok<Signed>(...signArgs('1.3.0', '--out', 'c.json', '--counter', '10'));
    assert.equal(c.release.releaseCounter, 10);
    const low = await run(...signArgs('1.3.1', '--out', 'd.json', '--counter', '10'));
    assert.equal(low.code, 1);
    assert.match(low.err, /not above the last release counter 10/);
    await assert.rejects(stat(join(dir, 'd.json')));
    const exists = await run(...signArgs('1.3.1', '--out', 'c.json'));
    assert.match(exists.err, /refusing to overwrite/);
  });

  test('2-of-3 with split custody: one --key is refused, --partial then cosign completes it', async () => {
    const keyFiles = (await readdir(join(dir, 'keys', 'keys')))
      .filter((f) => f.startsWith('release-'))
      .map((f) => join('keys', 'keys', f));
    const [a, b] = keyFiles;
    assert.ok(a && b);
    const sign = (...extra: string[]) =>
      run(
        'firmware',
        'sign',
        'fw.img',
        '--keys',
        'keys',
        '--type',
        'rpi4',
        '--version',
        '2.0.0',
        '--out',
        'split.json',
        '--key',
        a,
        ...extra,
      );
    const r = await sign();
    assert.equal(r.code, 1);
    assert.match(r.err, /1 release key\(s\) available, 2 signatures required/);
    await assert.rejects(stat(join(dir, 'split.json')));

    const p = await ok<{ signatures: number; threshold: number }>(
      'firmware',
      'sign',
      'fw.img',
      '--keys',
      'keys',
      '--type',
      'rpi4',
      '--version',
      '2.0.0',
      '--out',
      'split.json',
      '--key',
      a,
      '--partial',
    );
    assert.deepEqual([p.signatures, p.threshold], [1, 2]);
    const v = await run('firmware', 'verify', 'fw.img', 'split.json', '--root', 'keys/root.json');
    assert.equal(v.code, 3);
    assert.match(v.err, /threshold_not_met/);

    const stranger = await run(
      'firmware',
      'cosign',
      'split.json',
      '--root',
      'keys/root.json',
      '--key',
      join(
        'keys',
        'keys',
        (await readdir(join(dir, 'keys', 'keys'))).find((f) => f.startsWith('root-')) ?? '',
      ),
    );
    assert.equal(stranger.code, 1);
    assert.match(stranger.err, /not a release key/);

    const c = await ok<{ signatures: number; complete: boolean }>(
      'firmware',
      'cosign',
      'split.json',
      '--root',
      'keys/root.json',
      '--key',
      b,
    );
    assert.deepEqual([c.signatures, c.complete], [2, true]);
    assert.equal(
      (await run('firmware', 'verify', 'fw.img', 'split.json', '--root', 'keys/root.json')).code,
      0,
    );

    // Never co-sign a tampered file.
    const meta = JSON.parse(await readFile(join(dir, 'split.json'), 'utf8')) as {
      signed: { expires: string };
    };
    meta.signed.expires = '2099-01-01T00:00:00Z';
    await writeFile(join(dir, 'split-tampered.json'), JSON.stringify(meta));
    const t = await run(
      'firmware',
      'cosign',
      'split-tampered.json',
      '--root',
      'keys/root.json',
      '--key',
      b,
    );
    assert.equal(t.code, 3);
    assert.match(t.err, /bad_signature/);
  });

  test('verify refusals exit 3 with the reason: flipped byte, longer image, tampered, unknown key', async () => {
    const image = await readFile(join(dir, 'fw.img'));
    const flipped = Buffer.from(image);
    flipped[1234] = (flipped[1234] ?? 0) ^ 0x80;
    await writeFile(join(dir, 'flipped.img'), flipped);
    await writeFile(join(dir, 'longer.img'), Buffer.concat([image, Buffer.from('x')]));
    const verify = (img: string, meta = 'fw.img.meta.json', root = 'keys/root.json') =>
      run('firmware', 'verify', img, meta, '--root', root);

    let r = await verify('flipped.img');
    assert.equal(r.code, 3);
    assert.match(r.err, /refused \(hash_mismatch\)/);
    r = await verify('longer.img');
    assert.equal(r.code, 3);
    assert.match(r.err, /refused \(length_mismatch\)/);

    const meta = JSON.parse(await readFile(join(dir, 'fw.img.meta.json'), 'utf8')) as {
      signed: { targets: Record<string, { custom: { bulwark: { types: string[] } } }> };
    };
    const t = meta.signed.targets['fw.img'];
    assert.ok(t);
    t.custom.bulwark.types = ['esp32'];
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(meta));
    r = await verify('fw.img', 'tampered.json');
    assert.equal(r.code, 3);
    assert.match(r.err, /refused \(bad_signature\)/);

    await ok('keys', 'init', '--dir', 'other', '--algorithm', 'p256');
    r = await verify('fw.img', 'fw.img.meta.json', 'other/root.json');
    assert.equal(r.code, 3);
    assert.match(r.err, /refused \(unknown_key\)/);

    r = await verify('fw.img', 'missing.json');
    assert.equal(r.code, 1);
  });

  test('sign puts a chunk index in the signed metadata (--no-chunks leaves it out); a tampered one is refused', async () => {
    interface Indexed {
      release: {
        length: number;
        chunkIndex?: {
          algorithm: string;
          chunks: { offset: number; length: number; sha256: string }[];
        };
      };
    }
    // Its own key set, so the release counters of the other tests stay as they are.
    await ok('keys', 'init', '--dir', 'kc');
    const sign = (...more: string[]) =>
      ok<Indexed>('firmware', 'sign', 'fw.img', '--keys', 'kc', '--type', 'rpi4', ...more);
    const s = await sign('--version', '1.4.0', '--out', 'chunked.json');
    const index = s.release.chunkIndex;
    assert.ok(index);
    assert.equal(index.algorithm, 'fastcdc-gear32-nc2-1k-4k-32k');
    // The index tiles the image and matches what the library makes of it.
    const image = await readFile(join(dir, 'fw.img'));
    assert.deepEqual(index, await chunkImage(image));
    assert.equal(
      index.chunks.reduce((n, c) => n + c.length, 0),
      s.release.length,
    );
    const v = await ok<Indexed>(
      'firmware',
      'verify',
      'fw.img',
      'chunked.json',
      '--root',
      'kc/root.json',
    );
    assert.deepEqual(v.release.chunkIndex, index);
    const text = await run(
      'firmware',
      'verify',
      'fw.img',
      'chunked.json',
      '--root',
      'kc/root.json',
    );
    assert.match(
      text.out,
      new RegExp(`chunks\\s+${index.chunks.length} \\(fastcdc-gear32-nc2-1k-4k-32k\\)`),
    );

    const plain = await sign('--version', '1.4.1', '--out', 'plain.json', '--no-chunks');
    assert.equal(plain.release.chunkIndex, undefined);
    assert.doesNotMatch(await readFile(join(dir, 'plain.json'), 'utf8'), /chunkIndex/);

    const meta = JSON.parse(await readFile(join(dir, 'chunked.json'), 'utf8')) as {
      signed: { targets: Record<string, { custom: { bulwark: Indexed['release'] } }> };
    };
    const first = meta.signed.targets['fw.img']?.custom.bulwark.chunkIndex?.chunks[0];
    assert.ok(first);
    first.sha256 = '0'.repeat(64);
    await writeFile(join(dir, 'chunked-tampered.json'), JSON.stringify(meta));
    const r = await run(
      'firmware',
      'verify',
      'fw.img',
      'chunked-tampered.json',
      '--root',
      'kc/root.json',
    );
    assert.equal(r.code, 3);
    assert.match(r.err, /refused \(bad_signature\)/);

    // Validly signed, but the index of another image of the same length: verify refuses it.
    const keyDir = join(dir, 'kc', 'keys');
    const keys = await Promise.all(
      (await readdir(keyDir))
        .filter((f) => f.startsWith('release-'))
        .map(async (f) => signingKeyFromPem(await readFile(join(keyDir, f), 'utf8'))),
    );
    const other = Buffer.from(image);
    other.writeUInt8(other.readUInt8(150_000) ^ 0x01, 150_000);
    const wrong = signMetadata(
      createRelease({
        name: 'fw.img',
        types: ['rpi4'],
        hardware: [],
        version: '1.4.2',
        releaseCounter: 50,
        length: image.length,
        sha256: createHash('sha256').update(image).digest('hex'),
        expires: expiryAfter(3600),
        chunkIndex: await chunkImage(other),
      }),
      keys,
    );
    await writeFile(join(dir, 'chunked-wrong.json'), JSON.stringify(wrong.toJSON()));
    const w = await run(
      'firmware',
      'verify',
      'fw.img',
      'chunked-wrong.json',
      '--root',
      'kc/root.json',
    );
    assert.equal(w.code, 3);
    assert.match(w.err, /refused \(chunk_index_mismatch\): .*chunk \d+ differs/);
  });

  test('keys rotate: root v2 replaces the release keys; old metadata no longer verifies', async () => {
    const s = await ok<{ rootVersion: number; releaseKeys: string[] }>(
      'keys',
      'rotate',
      '--dir',
      'keys',
      '--release-keys',
      '1',
      '--algorithm',
      'p256',
    );
    assert.equal(s.rootVersion, 2);
    await stat(join(dir, 'keys', '1.root.json'));
    await stat(join(dir, 'keys', '2.root.json'));
    const r = await run(
      'firmware',
      'verify',
      'fw.img',
      'fw.img.meta.json',
      '--root',
      'keys/root.json',
    );
    assert.equal(r.code, 3);
    assert.match(r.err, /unknown_key/);
    const n = await ok<Signed>(...signArgs('2.0.0', '--out', 'v2.json'));
    assert.equal(n.release.releaseCounter, 12);
    assert.deepEqual(n.release.signedBy, s.releaseKeys);
    const rr = await ok<{ rootVersion: number }>('keys', 'rotate', '--dir', 'keys', '--root');
    assert.equal(rr.rootVersion, 3);
    // A device holding root v1 walks the published chain to v3.
    const roots = await Promise.all(
      [1, 2, 3].map(
        async (n) =>
          JSON.parse(await readFile(join(dir, 'keys', `${n}.root.json`), 'utf8')) as unknown,
      ),
    );
    assert.ok(verifyRootUpdate(roots[0], roots[1]).ok);
    assert.ok(verifyRootUpdate(roots[1], roots[2], { now: new Date() }).ok);
    const skip = verifyRootUpdate(roots[0], roots[2]);
    assert.equal(skip.ok ? 'accepted' : skip.reason, 'version_not_next');
  });
});

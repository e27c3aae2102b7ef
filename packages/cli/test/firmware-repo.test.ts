/**
 * `bulwark firmware root push|upload|list` against a real hub process, with keys and metadata made
 * by `bulwark keys init` and `bulwark firmware sign`: an upload the hub verifies and accepts, and
 * an image that does not match its signed metadata, refused with nothing stored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@bulwark/cli';
import { captureIo } from './helpers.js';
import { startHub, type ManagedHub } from './management-hub.js';

describe('bulwark firmware root push / upload / list', () => {
  let hub: ManagedHub;
  let dir: string;
  const local = async (...argv: string[]) => {
    const c = captureIo({}, dir);
    const code = await main(argv, c.io);
    assert.equal(code, 0, `${argv.join(' ')}: ${c.stderr}`);
  };

  const sign = (image: string, version: string, out: string) =>
    local(
      'firmware',
      'sign',
      image,
      '--keys',
      'keys',
      '--type',
      'rpi4',
      '--version',
      version,
      '--out',
      out,
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-fw-repo-cli-'));
    const image = Buffer.alloc(700_000);
    for (let i = 0; i < image.length; i++) image[i] = (i * 13) & 0xff;
    await writeFile(join(dir, 'fw.img'), image);
    // A second release, and a copy of its image with one byte flipped.
    image[0] = 0xaa;
    await writeFile(join(dir, 'fw2.img'), image);
    image[1234] = (image[1234] ?? 0) ^ 1;
    await writeFile(join(dir, 'flipped.img'), image);
    await local('keys', 'init', '--dir', 'keys');
    await sign('fw2.img', '1.3.0', 'fw2.meta.json');
    await sign('fw.img', '1.2.0', 'fw.meta.json');
    hub = await startHub();
  });
  after(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('push the root, upload (progress on stderr), list it ready', async () => {
    const pushed = await hub.run(['firmware', 'root', 'push', join(dir, 'keys', 'root.json')]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const up = await hub.run([
      'firmware',
      'upload',
      join(dir, 'fw.img'),
      join(dir, 'fw.meta.json'),
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /uploaded 100% \(700000\/700000 bytes\)/);
    assert.match(up.stdout, /state\s+ready/);
    assert.match(up.stdout, /version\s+1\.2\.0/);
    const list = await hub.json<{ items: { version: string; state: string; length: number }[] }>([
      'firmware',
      'list',
    ]);
    assert.deepEqual(
      list.items.map((a) => [a.version, a.state, a.length]),
      [['1.2.0', 'ready', 700_000]],
    );
  });

  test('an image that does not match its signed metadata is refused; nothing new is ready', async () => {
    const r = await hub.run([
      'firmware',
      'upload',
      join(dir, 'flipped.img'),
      join(dir, 'fw2.meta.json'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /firmware_hash_mismatch/);
    // 1.3.0 never became ready; 1.2.0 is untouched.
    const list = await hub.json<{ items: { version: string; state: string }[] }>([
      'firmware',
      'list',
    ]);
    assert.deepEqual(list.items.map((a) => [a.version, a.state]).sort(), [
      ['1.2.0', 'ready'],
      ['1.3.0', 'pending'],
    ]);
    // The pending one can be deleted (and uploaded again with the right image).
    const pending = (
      await hub.json<{ items: { id: string; state: string }[] }>(['firmware', 'list'])
    ).items.find((a) => a.state === 'pending');
    assert.equal((await hub.run(['firmware', 'delete', pending?.id ?? ''])).code, 0);
    const retry = await hub.run([
      'firmware',
      'upload',
      join(dir, 'fw2.img'),
      join(dir, 'fw2.meta.json'),
    ]);
    assert.equal(retry.code, 0, retry.stderr);
    // The same metadata again is refused as already uploaded.
    const again = await hub.run([
      'firmware',
      'upload',
      join(dir, 'fw.img'),
      join(dir, 'fw.meta.json'),
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /firmware_artifact_exists/);
  });

  test('a missing image file is a clear error before anything is sent', async () => {
    const r = await hub.run([
      'firmware',
      'upload',
      join(dir, 'nope.img'),
      join(dir, 'fw.meta.json'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*nope\.img/);
  });
});

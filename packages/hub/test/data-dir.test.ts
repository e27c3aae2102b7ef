/**
 * The data dir is private (issue 11, decision 0016): the hub makes it 0700 and every file in it
 * 0600 (directories 0700) — on a fresh start and when it finds a pre-existing, looser one — or
 * refuses to start, saying why, where it cannot make it private.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setupOwner, startTestHub } from './helpers.js';

/** Every entry under `dir` (and `dir` itself) with its permission bits, as 'path 0600'. */
function modes(dir: string): string[] {
  const out = [`. ${(lstatSync(dir).mode & 0o777).toString(8)}`];
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${p.slice(dir.length + 1)} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) stack.push(p);
    }
  }
  return out.sort();
}
/** Entries whose mode is not private: directories must be 0700, files 0600. */
function loose(dir: string): string[] {
  return modes(dir).filter((line) => {
    const [rel, mode] = line.split(' ') as [string, string];
    const directory = lstatSync(rel === '.' ? dir : join(dir, rel)).isDirectory();
    return mode !== (directory ? '700' : '600');
  });
}

/** Asserts that a hub refuses to start on `dir` (closing it if it wrongly starts). */
async function refusesToStart(dir: string, why: RegExp): Promise<void> {
  let started: Awaited<ReturnType<typeof startTestHub>> | undefined;
  try {
    started = await startTestHub([], { dir });
  } catch (e) {
    assert.match((e as Error).message, why);
    return;
  }
  await started.close();
  assert.fail(`the hub started on ${dir}`);
}

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

describe('data dir permissions', () => {
  const made: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'bulwark-datadir-'));
    made.push(d);
    return d;
  };
  after(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  it('a fresh data dir is 0700 with every file 0600: the database and its -wal/-shm, master.key, ca.pem, runtime.json, blobs', async () => {
    const t = await startTestHub([], { dir: join(temp(), 'fresh') });
    try {
      const s = await setupOwner(t); // writes to the database, so -wal exists
      await s.api.devices.create({ name: 'perm-1', type: 'rpi4' });
      const names = modes(t.dir).map((l) => l.split(' ')[0]);
      for (const f of ['bulwark.db', 'bulwark.db-wal', 'master.key', 'ca.pem', 'runtime.json'])
        assert.ok(names.includes(f), `${f} in ${names.join(', ')}`);
      assert.deepEqual(loose(t.dir), []);
    } finally {
      await t.close();
    }
  });

  it('a pre-existing 0755 data dir with a 0644 database (and -wal, blobs, ca.pem) is tightened at start', async () => {
    const dir = join(temp(), 'old');
    const first = await startTestHub([], { dir });
    const s = await setupOwner(first);
    await s.api.devices.create({ name: 'perm-2', type: 'rpi4' });
    await first.close();
    // as an older hub (or an operator's copy) left it: readable by every local user
    chmodSync(dir, 0o755);
    for (const f of readdirSync(dir)) if (f !== 'master.key') chmodSync(join(dir, f), 0o644);
    mkdirSync(join(dir, 'blobs', 'ab'), { recursive: true, mode: 0o755 });
    chmodSync(join(dir, 'blobs'), 0o755);
    writeFileSync(join(dir, 'blobs', 'ab', 'ab'.repeat(32)), randomBytes(16), { mode: 0o644 });
    writeFileSync(join(dir, 'bulwark.db-wal'), '', { flag: 'a', mode: 0o644 });
    assert.ok(loose(dir).length >= 5, loose(dir).join(', '));
    const again = await startTestHub([], { dir });
    try {
      assert.deepEqual(loose(dir), []);
      // and the hub still works on its (now private) database
      const d = await again.client(s.apiKey).devices.list({});
      assert.ok(d.items.some((x) => x.name === 'perm-2'));
    } finally {
      await again.close();
    }
  });

  it('refuses to start, saying why, on a data dir owned by another user, changing nothing', async () => {
    // As root (CI): a fresh directory given to nobody. Otherwise: a directory root owns.
    let dir = '/var';
    let owner = 0;
    if (asRoot) {
      dir = join(temp(), 'foreign');
      mkdirSync(dir, { mode: 0o755 });
      chownSync(dir, NOBODY, NOBODY);
      owner = NOBODY;
    }
    const entries = readdirSync(dir);
    const mode = lstatSync(dir).mode;
    await refusesToStart(
      dir,
      new RegExp(`the data dir ${dir} belongs to uid ${owner}.*chown.*another --data-dir`),
    );
    assert.deepEqual(readdirSync(dir), entries, 'nothing written');
    assert.equal(lstatSync(dir).mode, mode, 'nothing changed');
  });

  it('refuses a data dir pointing at a shared, world-writable place, and a symlink inside it', async () => {
    const shared = join(temp(), 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const link = join(temp(), 'link');
    symlinkSync(shared, link);
    await refusesToStart(link, /writable by every user \(mode 1777\)/);
    assert.deepEqual(readdirSync(shared), [], 'nothing written');
    // a symlink planted inside: the hub would otherwise chmod or write through it
    const dir = join(temp(), 'planted');
    mkdirSync(dir, { mode: 0o700 });
    const elsewhere = join(temp(), 'elsewhere.db');
    writeFileSync(elsewhere, '', { mode: 0o644 });
    symlinkSync(elsewhere, join(dir, 'bulwark.db'));
    await refusesToStart(dir, /bulwark\.db is a symlink/);
    assert.equal(lstatSync(elsewhere).mode & 0o777, 0o644, 'its target untouched');
  });

  it('follows a symlinked data dir to a directory of its own and makes that private', async () => {
    const real = join(temp(), 'real');
    mkdirSync(real, { mode: 0o755 });
    const link = join(temp(), 'via-link');
    symlinkSync(real, link);
    const t = await startTestHub([], { dir: link });
    try {
      assert.deepEqual(loose(real), []);
    } finally {
      await t.close();
    }
  });
});

/**
 * AgentFiles on a directory (a device's state dir). Every write is atomic and durable: a temp file
 * in the same directory, fsync, rename over the old name, then fsync of the directory so the rename
 * itself survives a power cut. A crash at any point leaves the old or the new content, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AgentFiles } from '../ports.js';
import { checkName } from './names.js';

/** Temp files carry this marker; `list` never shows them and `open` sweeps leftovers of a crash. */
const TEMP = '.tmp-';

/** The agent's files in one directory (created 0700: it holds the device's private key). */
export class DirFiles implements AgentFiles {
  private constructor(readonly root: string) {}

  /** Opens (creating it 0700) a state directory and removes temp files a crash left behind. */
  static async open(root: string): Promise<DirFiles> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const files = new DirFiles(root);
    for (const name of await files.walk('')) {
      if (name.includes(TEMP)) await rm(join(root, name), { force: true });
    }
    return files;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    checkName(name);
    try {
      return new Uint8Array(await readFile(join(this.root, name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(name: string, data: Uint8Array, opts: { secret?: boolean } = {}): Promise<void> {
    checkName(name);
    const target = join(this.root, name);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${target}${TEMP}${randomBytes(6).toString('hex')}`;
    // 'wx' with the mode creates the file with its final permissions in one step: a secret is
    // never readable by others, not even between create and chmod.
    const fh = await open(temp, 'wx', opts.secret ? 0o600 : 0o644);
    try {
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (err) {
      // ENOSPC (or anything else) leaves the old file untouched; the partial temp file goes.
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await syncDir(dir);
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    await rm(join(this.root, name), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    // Only the directory the prefix points into (and below) is read.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (base !== '') checkName(base);
    const names = await this.walk(base);
    return names.filter((n) => n.startsWith(prefix) && !n.includes(TEMP)).sort();
  }

  async wipe(): Promise<void> {
    for (const entry of await readdir(this.root)) {
      await rm(join(this.root, entry), { recursive: true, force: true });
    }
    await syncDir(this.root);
  }

  private async walk(rel: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(join(this.root, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: string[] = [];
    for (const e of entries) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) out.push(...(await this.walk(name)));
      else if (e.isFile()) out.push(name);
    }
    return out;
  }
}

/** fsync a directory so a rename or unlink in it is durable (POSIX needs it; ext4 honours it). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems (e.g. certain FUSE or tmpfs setups) refuse fsync on a directory.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? ''))
      throw err;
  } finally {
    await fh.close();
  }
}

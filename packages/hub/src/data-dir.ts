/**
 * The data dir holds the database (telemetry, audit, password and key hashes), the master key,
 * firmware blobs, the CA bundle and runtime.json: only the hub's own user may read any of it
 * (issue 11). So the hub makes the directory 0700 and every file in it 0600 (subdirectories 0700),
 * tightening a pre-existing directory it owns, and refuses to start, saying why, where that would
 * not make it private (decision 0016):
 *
 * - the directory (or, if it is a symlink, the directory it points to) is owned by another user,
 *   or is writable by everyone (a shared place like /tmp, which is never ours to take over);
 * - an entry inside is a symlink, a socket or device, or belongs to another user: the hub cannot
 *   vouch for what it points at or who else can change it.
 *
 * The master key is left to `loadMasterKey`, which refuses a key that others could read: it may
 * already have leaked, and quietly tightening it would hide that.
 */
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

/** Why the data dir cannot be made private; the message names the path and the fix. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

const me = (): number => process.getuid?.() ?? 0;
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function owned(path: string, st: Stats, what: string): void {
  if (st.uid !== me()) {
    throw new DataDirError(
      `${what} ${path} belongs to uid ${st.uid}, not to the hub's user (uid ${me()}): its owner could read or change the hub's data. Give it to this user (chown) or choose another --data-dir`,
    );
  }
}

/**
 * Creates the data dir 0700, or checks and tightens an existing one and everything in it.
 * Returns the paths whose mode was tightened. `skip` names files another check owns.
 */
export function secureDataDir(dir: string, skip: readonly string[] = []): string[] {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  // stat follows a symlinked data dir: what must be private is the directory it points to.
  const st = statSync(dir);
  if (!st.isDirectory()) throw new DataDirError(`--data-dir ${dir} is not a directory`);
  owned(dir, st, 'the data dir');
  if ((st.mode & 0o002) !== 0) {
    throw new DataDirError(
      `the data dir ${dir} is writable by every user (mode ${octal(st.mode)}): it is a shared directory, not a private one. Choose a directory of the hub's own`,
    );
  }
  const tightened: string[] = [];
  const tighten = (path: string, mode: number, want: number) => {
    if ((mode & 0o077) === 0) return;
    chmodSync(path, want);
    tightened.push(path);
  };
  tighten(dir, st.mode, DIR_MODE);
  // Depth-first without recursion; lstat, so a symlink is seen as one and never followed.
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (skip.includes(path)) continue;
      const e = lstatSync(path);
      if (e.isSymbolicLink()) {
        throw new DataDirError(
          `${path} is a symlink: the hub keeps only its own files in the data dir and cannot vouch for where a link points. Move what it points to into the data dir, or point --data-dir at that disk`,
        );
      }
      if (!e.isFile() && !e.isDirectory()) {
        throw new DataDirError(
          `${path} is neither a file nor a directory: the data dir holds only the hub's files`,
        );
      }
      owned(path, e, e.isDirectory() ? 'the directory' : 'the file');
      if (e.isDirectory()) {
        tighten(path, e.mode, DIR_MODE);
        stack.push(path);
      } else {
        tighten(path, e.mode, FILE_MODE);
      }
    }
  }
  return tightened;
}

/**
 * Makes sure `path` exists as a private file (created 0600, or tightened) before a library opens
 * it: SQLite creates a new database 0644 less the umask, and its -wal and -shm files take the
 * database file's mode.
 */
export function ensurePrivateFile(path: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    closeSync(openSync(path, 'wx', FILE_MODE));
    return;
  }
  if (!st.isFile()) throw new DataDirError(`${path} is not a regular file (a symlink?)`);
  owned(path, st, 'the file');
  if ((st.mode & 0o077) !== 0) chmodSync(path, FILE_MODE);
}

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  RELEASE_ROLE,
  signingKeyFromPem,
  verifyRoot,
  type SigningKey,
  type TrustedRoot,
} from '@bulwark/firmware';
import { CliError } from '../errors.js';
import { readJson } from './read-json.js';

export { readJson };

/**
 * The operator's key directory, written by `bulwark keys init` and kept offline:
 *   root.json            the current signed root (what devices and the hub trust)
 *   N.root.json          every root version, so a device can walk a rotation chain (TUF layout)
 *   keys/root-ID.pem     root private keys (0600)
 *   keys/release-ID.pem  release private keys (0600)
 *   counter              the last release counter used by `bulwark firmware sign`
 */
export const KEY_LAYOUT = { root: 'root.json', keys: 'keys', counter: 'counter' } as const;

/** Writes a private key file in one step with mode 0600, never over an existing file. */
export function writePrivateKey(dir: string, role: 'root' | 'release', key: SigningKey): string {
  const keysDir = join(dir, KEY_LAYOUT.keys);
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const file = join(keysDir, `${role}-${key.keyId.slice(0, 16)}.pem`);
  writeFileSync(file, key.privatePem, { flag: 'wx', mode: 0o600 });
  return file;
}

/** Writes a signed root as root.json and N.root.json (N.root.json must not exist yet). */
export function writeRoot(dir: string, rootJson: unknown, version: number): string[] {
  const text = `${JSON.stringify(rootJson, null, 2)}\n`;
  const versioned = join(dir, `${version}.root.json`);
  writeFileSync(versioned, text, { flag: 'wx', mode: 0o644 });
  const current = join(dir, KEY_LAYOUT.root);
  replaceFile(current, text, 0o644);
  return [current, versioned];
}

/** Replaces a file atomically (write beside it, then rename). */
export function replaceFile(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** The key directory's current root, checked to be signed by its own root keys. */
export function loadRoot(dir: string): TrustedRoot {
  const file = join(dir, KEY_LAYOUT.root);
  if (!existsSync(file))
    throw new CliError(`${file} not found (create keys with \`bulwark keys init\`)`);
  const r = verifyRoot(readJson(file));
  if (!r.ok) throw new CliError(`${file}: ${r.message} (${r.reason})`);
  return r;
}

/** Parses a root file given on the command line and checks its own signatures. */
export function loadRootFile(file: string): TrustedRoot {
  const r = verifyRoot(readJson(file));
  if (!r.ok) throw new CliError(`${file}: ${r.message} (${r.reason})`);
  return r;
}

/** Loads private keys from PEM files; an unreadable or non-key file is an error. */
export function loadKeyFiles(files: readonly string[]): SigningKey[] {
  return files.map((f) => {
    let pem: string;
    try {
      pem = readFileSync(f, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      return signingKeyFromPem(pem);
    } catch (err) {
      throw new CliError(`${f}: ${(err as Error).message}`);
    }
  });
}

/** The private keys in DIR/keys with the given file prefix. */
export function keysInDir(dir: string, role: 'root' | 'release'): SigningKey[] {
  const keysDir = join(dir, KEY_LAYOUT.keys);
  if (!existsSync(keysDir)) return [];
  const files = readdirSync(keysDir)
    .filter((f) => f.startsWith(`${role}-`) && f.endsWith('.pem'))
    .sort()
    .map((f) => join(keysDir, f));
  return loadKeyFiles(files);
}

/** Keeps the keys a root lists for `role` (`root` or the release role), in the root's order. */
export function keysForRole(
  trusted: TrustedRoot,
  role: 'root' | 'release',
  keys: readonly SigningKey[],
): { keys: SigningKey[]; threshold: number } {
  const r = trusted.root.signed.roles[role === 'root' ? 'root' : RELEASE_ROLE];
  const ids = r?.keyIDs ?? [];
  const byId = new Map(keys.map((k) => [k.keyId, k]));
  return {
    keys: ids.flatMap((id) => byId.get(id) ?? []),
    threshold: r?.threshold ?? 1,
  };
}

/** The last release counter used from this key directory (0 if none). */
export function readCounter(dir: string): number {
  const file = join(dir, KEY_LAYOUT.counter);
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8').trim();
  if (!/^\d{1,15}$/.test(text)) throw new CliError(`${file} does not hold a counter ('${text}')`);
  return Number(text);
}

/** Records the last release counter used. */
export function writeCounter(dir: string, value: number): void {
  replaceFile(join(dir, KEY_LAYOUT.counter), `${value}\n`, 0o644);
}

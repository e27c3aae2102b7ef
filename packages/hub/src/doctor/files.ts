/**
 * The data dir on disk: who may read what (the master key and the database are the hub's
 * secrets), the free space, and the settings file when it holds credentials.
 */
import { existsSync, readdirSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { check, type Check } from './report.js';

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** A file or directory that must be private to its owner (no group or world bits). */
function privateCheck(id: string, path: string, what: string, required: boolean): Check {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return check(id, required ? 'fail' : 'skip', `${what} ${path} does not exist`);
  }
  if ((mode & 0o077) !== 0)
    return check(
      id,
      'fail',
      `${what} ${path} is ${octal(mode)}: readable by others (chmod go-rwx)`,
    );
  return check(id, 'pass', `${what} ${path} is ${octal(mode)}`);
}

/** Modes of the data dir, the master key and the SQLite database files. */
export function fileChecks(o: {
  dataDir: string;
  masterKeyFile: string;
  sqliteFile?: string;
}): Check[] {
  const checks = [
    privateCheck('files.data-dir', o.dataDir, 'the data dir', true),
    privateCheck('files.master-key', o.masterKeyFile, 'the master key', true),
  ];
  if (o.sqliteFile !== undefined) {
    checks.push(privateCheck('files.database', o.sqliteFile, 'the database', true));
    for (const extra of ['-wal', '-shm'])
      if (existsSync(o.sqliteFile + extra))
        checks.push(
          privateCheck(`files.database${extra}`, o.sqliteFile + extra, 'the database', true),
        );
  }
  return checks;
}

/**
 * Files in the data dir owned by someone else than the dir's owner (the hub's user): typically
 * left by a command run as root on the data dir (an -wal or -shm file of the database), which
 * the hub then cannot write.
 */
export function ownershipCheck(dataDir: string): Check {
  let owner: number;
  let names: string[];
  try {
    owner = statSync(dataDir).uid;
    names = readdirSync(dataDir);
  } catch (err) {
    return check('files.owner', 'skip', `cannot read ${dataDir}: ${(err as Error).message}`);
  }
  const foreign = names.filter((n) => {
    try {
      return statSync(join(dataDir, n)).uid !== owner;
    } catch {
      return false;
    }
  });
  if (foreign.length > 0)
    return check(
      'files.owner',
      'fail',
      `${foreign.join(', ')} in ${dataDir} not owned by uid ${owner}, the data dir's owner: the hub cannot write them (chown)`,
    );
  return check('files.owner', 'pass', `everything in ${dataDir} belongs to uid ${owner}`);
}

// Below these the hub soon refuses writes (SQLite and the firmware store need room).
const FAIL_FREE = 0.02;
const WARN_FREE = 0.1;

/** Free space on the data dir's filesystem. */
export function diskCheck(dataDir: string): Check {
  try {
    const s = statfsSync(dataDir);
    const free = s.bavail / s.blocks;
    const gib = ((s.bavail * s.bsize) / 2 ** 30).toFixed(1);
    const status = free < FAIL_FREE ? 'fail' : free < WARN_FREE ? 'warn' : 'pass';
    return check(
      'files.disk',
      status,
      `${gib} GiB (${(free * 100).toFixed(0)} %) free on the data dir's filesystem`,
    );
  } catch (err) {
    return check('files.disk', 'skip', `cannot read the free space: ${(err as Error).message}`);
  }
}

// Settings that are credentials when set (a URL with a password counts).
const SECRET_KEYS = /^BULWARK_(NATS_PASSWORD|NATS_TOKEN|DATABASE)$/;

/** The settings file (--service-env): credentials in it must not be world-readable. */
export function envFileCheck(path: string, env: Record<string, string>): Check {
  const mode = statSync(path).mode;
  const secrets = Object.entries(env).filter(
    ([k, v]) =>
      SECRET_KEYS.test(k) &&
      v !== '' &&
      (k !== 'BULWARK_DATABASE' || /:\/\/[^/@]*:[^/@]*@/.test(v)),
  );
  if ((mode & 0o004) !== 0 && secrets.length > 0)
    return check(
      'files.settings',
      'fail',
      `${path} is ${octal(mode)} and holds ${secrets.map(([k]) => k).join(', ')}: chmod o-rwx`,
    );
  return check(
    'files.settings',
    'pass',
    `${path} is ${octal(mode)}${secrets.length > 0 ? ' (holds credentials, not world-readable)' : ''}`,
  );
}

/** Reads a systemd EnvironmentFile: KEY=VALUE lines, # comments, optional quotes. */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    let value = m[2] ?? '';
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    env[m[1]!] = value;
  }
  return env;
}

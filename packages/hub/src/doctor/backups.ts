/**
 * What doctor can tell about backups. The hub makes none itself, so doctor can only look where
 * the operator says they land (--backup-dir): is the newest file there recent, is master.key
 * among them (without it no backup of the database can be opened: every CA key is sealed with
 * it), and is it on another filesystem than the data dir. Without --backup-dir it says that it
 * could not check.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { check, type Check } from './report.js';

// A walk of a backup tree stops here: enough for any rotation scheme, bounded for a huge one.
const MAX_ENTRIES = 10_000;
// A daily backup plus slack for a slow run.
export const DEFAULT_MAX_AGE_HOURS = 26;

interface Seen {
  newest: { path: string; mtimeMs: number } | undefined;
  files: string[];
}

function walk(dir: string, seen: Seen, budget: { left: number }): void {
  for (const name of readdirSync(dir)) {
    if (budget.left-- <= 0) return;
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) walk(p, seen, budget);
    else if (s.isFile()) {
      seen.files.push(p);
      if (seen.newest === undefined || s.mtimeMs > seen.newest.mtimeMs)
        seen.newest = { path: p, mtimeMs: s.mtimeMs };
    }
  }
}

/** The backup checks. */
export function backupChecks(o: {
  backupDir: string | undefined;
  maxAgeHours: number;
  dataDir: string;
  masterKeyFile: string;
  now: number;
}): Check[] {
  if (o.backupDir === undefined)
    return [
      check(
        'backups',
        'warn',
        'not checked: the hub makes no backups itself; pass --backup-dir DIR (where your backups land) to check their age and that master.key is among them',
      ),
    ];
  const seen: Seen = { newest: undefined, files: [] };
  try {
    walk(o.backupDir, seen, { left: MAX_ENTRIES });
  } catch (err) {
    return [check('backups', 'fail', `cannot read ${o.backupDir}: ${(err as Error).message}`)];
  }
  const checks: Check[] = [];
  if (seen.newest === undefined)
    checks.push(check('backups.age', 'fail', `${o.backupDir} holds no backup`));
  else {
    const hours = (o.now - seen.newest.mtimeMs) / 3_600_000;
    checks.push(
      check(
        'backups.age',
        hours > o.maxAgeHours ? 'fail' : 'pass',
        `newest backup ${seen.newest.path} is ${hours.toFixed(1)} h old (limit ${o.maxAgeHours} h)`,
      ),
    );
  }
  let key: Buffer | undefined;
  try {
    key = readFileSync(o.masterKeyFile);
  } catch {
    /* reported by files.master-key */
  }
  if (key !== undefined) {
    const size = key.length;
    const copy = seen.files.find((f) => {
      try {
        return statSync(f).size === size && readFileSync(f).equals(key);
      } catch {
        return false;
      }
    });
    checks.push(
      copy
        ? check(
            'backups.master-key',
            'pass',
            `a copy of the master key is in the backups (${copy})`,
          )
        : check(
            'backups.master-key',
            'fail',
            `no copy of ${o.masterKeyFile} in ${o.backupDir}: without it no backup of the database can be opened`,
          ),
    );
  }
  if (statSync(o.backupDir).dev === statSync(o.dataDir).dev)
    checks.push(
      check(
        'backups.location',
        'warn',
        `${o.backupDir} is on the same filesystem as the data dir: a lost disk loses both`,
      ),
    );
  return checks;
}

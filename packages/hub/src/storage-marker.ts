/**
 * Which database the hub on a data dir uses, recorded in `DIR/storage.json` at every start
 * (decision 0026), so an admin command given only `--data-dir` but not the hub's configuration
 * is refused instead of quietly creating a second, empty database (issue 13). Only a printable
 * description is kept: no credentials.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubConfig } from './config.js';
import { ConfigError } from './config-error.js';
import { describeStorage } from './storage.js';

type StorageConfig = Pick<HubConfig, 'dataDir' | 'database' | 'databaseSchema' | 'config'>;

/** What identifies a database across configurations: its description and, on PostgreSQL, schema. */
export function storageIdentity(config: StorageConfig): string {
  const d = describeStorage(config);
  return d.startsWith('postgres') ? `${d} (schema ${config.databaseSchema})` : d;
}

const markerPath = (dataDir: string) => join(dataDir, 'storage.json');

/** Records the hub's database in its data dir (atomically, 0600). */
export function writeStorageMarker(config: StorageConfig): void {
  const path = markerPath(config.dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  const body = { storage: storageIdentity(config), configFile: config.config || null };
  writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** What the hub last said it uses: storage.json, else a running hub's runtime.json. */
function recorded(
  dataDir: string,
): { storage: string; configFile: string | null; from: string } | undefined {
  for (const name of ['storage.json', 'runtime.json']) {
    const from = join(dataDir, name);
    if (!existsSync(from)) continue;
    try {
      const j = JSON.parse(readFileSync(from, 'utf8')) as {
        storage?: unknown;
        configFile?: unknown;
      };
      if (typeof j.storage !== 'string') continue;
      return {
        storage: j.storage,
        configFile: typeof j.configFile === 'string' ? j.configFile : null,
        from,
      };
    } catch {
      continue; // unreadable or half-written: the other file, or nothing to compare with
    }
  }
  return undefined;
}

/**
 * Refuses (ConfigError) when the hub on this data dir runs on another database than `config`
 * names: the command would act on (or create) a database the hub never reads.
 */
export function checkStorageMarker(config: StorageConfig): void {
  const r = recorded(config.dataDir);
  if (r === undefined) return; // a data dir prepared before the hub's first start
  const mine = storageIdentity(config);
  // runtime.json of an older hub holds the description without the schema.
  if (r.storage === mine || (r.from.endsWith('runtime.json') && mine.startsWith(r.storage + ' ')))
    return;
  const fresh =
    config.database === '' && !existsSync(join(config.dataDir, 'bulwark.db'))
      ? ', a new empty database'
      : '';
  const fix = r.configFile
    ? `--config ${r.configFile} (or BULWARK_CONFIG)`
    : 'the same --database and --database-schema (or BULWARK_DATABASE, or --config FILE)';
  throw new ConfigError(
    `the hub on ${config.dataDir} uses ${r.storage} (${r.from}), but this command would open ${mine}${fresh}. ` +
      `Give it the hub's configuration: ${fix}`,
  );
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Durability, Storage } from '@bulwark/core';
import { openSqliteStorage } from '@bulwark/store-sqlite';
import { openPostgresStorage } from '@bulwark/store-postgres';
import type { HubConfig } from './config.js';
import { ensurePrivateFile } from './data-dir.js';

/** Opens the configured storage (running migrations): SQLite in the data dir by default. */
export async function openStorage(
  config: Pick<HubConfig, 'database' | 'databaseSchema' | 'dataDir' | 'durability'>,
): Promise<Storage> {
  const db = config.database;
  const durability = config.durability;
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) {
    return openPostgresStorage({ url: db, schema: config.databaseSchema, durability });
  }
  if (db === '') return openSqlite(join(config.dataDir, 'bulwark.db'), durability);
  if (db.startsWith('sqlite:')) return openSqlite(db.slice('sqlite:'.length), durability);
  throw new Error(
    `--database ${JSON.stringify(db)}: use postgres://…, sqlite:PATH, or leave it empty`,
  );
}

/**
 * SQLite creates a new database 0644 (less the umask) and its -wal and -shm files with the
 * database's mode: the file is made 0600 first, and existing companions are tightened.
 */
function openSqlite(path: string, durability: Durability): Promise<Storage> {
  if (path !== ':memory:') {
    ensurePrivateFile(path);
    for (const extra of ['-wal', '-shm', '-journal'])
      if (existsSync(path + extra)) ensurePrivateFile(path + extra);
  }
  return openSqliteStorage({ path, durability });
}

/** A printable description of the storage, without credentials. */
export function describeStorage(config: Pick<HubConfig, 'database' | 'dataDir'>): string {
  if (config.database === '') return `sqlite ${join(config.dataDir, 'bulwark.db')}`;
  try {
    const u = new URL(config.database);
    return `${u.protocol.replace(':', '')} ${u.host}${u.pathname}`;
  } catch {
    return config.database.split(':')[0] ?? 'database';
  }
}

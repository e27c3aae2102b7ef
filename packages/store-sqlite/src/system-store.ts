import type { Database } from 'better-sqlite3';
import type { SystemStore } from '@bulwark/core';

/** The system_kv table behind the SystemStore port. */
export function createSystemStore(db: Database): SystemStore {
  const get = (key: string): string | undefined =>
    (
      db.prepare('SELECT value FROM system_kv WHERE key = ?').get(key) as
        { value: string } | undefined
    )?.value;
  const cas = db.transaction(
    (key: string, expected: string | undefined, next: string | undefined): boolean => {
      if (get(key) !== expected) return false;
      if (next === undefined) db.prepare('DELETE FROM system_kv WHERE key = ?').run(key);
      else
        db.prepare(
          'INSERT INTO system_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ).run(key, next);
      return true;
    },
  );
  return {
    async get(key) {
      return get(key);
    },
    async put(key, value) {
      db.prepare(
        'INSERT INTO system_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ).run(key, value);
    },
    async compareAndSet(key, expected, next) {
      return cas.immediate(key, expected, next);
    },
  };
}

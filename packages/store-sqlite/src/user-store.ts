import type { Database } from 'better-sqlite3';
import type { User, UserStore } from '@bulwark/core';
import { toUserWith, USER_COLUMNS, type UserRow } from '@bulwark/store-sql';
import { SQLITE_COLUMNS, type SqliteColumns } from './codec.js';
import { mapUnique } from './errors.js';

const toUser = toUserWith(SQLITE_COLUMNS);

/** Inserts a user row (shared with the organization bootstrap transaction). */
export function insertUser(db: Database, u: User): void {
  db.prepare(
    `INSERT INTO users (id, email, name, password_hash, totp_secret_sealed, totp_enabled,
       failed_logins, locked_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    u.id,
    u.email,
    u.name,
    u.passwordHash,
    u.totpSecretSealed,
    u.totpEnabled ? 1 : 0,
    u.failedLogins,
    u.lockedUntil,
    u.createdAt,
    u.updatedAt,
  );
}

/** The users table behind the UserStore port; email uniqueness is on lower(email). */
export function createUserStore(db: Database): UserStore {
  return {
    async create(user) {
      mapUnique(() => insertUser(db, user));
    },
    async get(id) {
      const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as
        UserRow<SqliteColumns> | undefined;
      return row && toUser(row);
    },
    async getByEmail(email) {
      const row = db.prepare('SELECT * FROM users WHERE lower(email) = lower(?)').get(email) as
        UserRow<SqliteColumns> | undefined;
      return row && toUser(row);
    },
    async update(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(USER_COLUMNS)) {
        const value = patch[key as keyof typeof USER_COLUMNS];
        if (value === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
      }
      if (sets.length === 0) return;
      mapUnique(() =>
        db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE id = ?`).run(...values, id),
      );
    },
    async count() {
      return (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
    },
  };
}

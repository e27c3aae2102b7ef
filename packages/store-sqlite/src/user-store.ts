import type { Database } from 'better-sqlite3';
import type { User, UserStore } from '@bulwark/core';
import { mapUnique } from './errors.js';

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  totp_secret_sealed: string | null;
  totp_enabled: number;
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  passwordHash: r.password_hash,
  totpSecretSealed: r.totp_secret_sealed,
  totpEnabled: r.totp_enabled !== 0,
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Patchable user fields and their columns. */
const COLUMNS = {
  email: 'email',
  name: 'name',
  passwordHash: 'password_hash',
  totpSecretSealed: 'totp_secret_sealed',
  totpEnabled: 'totp_enabled',
  failedLogins: 'failed_logins',
  lockedUntil: 'locked_until',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof Omit<User, 'id' | 'createdAt'>, string>;

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
      const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
      return row && toUser(row);
    },
    async getByEmail(email) {
      const row = db.prepare('SELECT * FROM users WHERE lower(email) = lower(?)').get(email) as
        UserRow | undefined;
      return row && toUser(row);
    },
    async update(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(COLUMNS)) {
        const value = patch[key as keyof typeof COLUMNS];
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

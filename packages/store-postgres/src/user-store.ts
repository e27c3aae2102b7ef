import type { Pool } from 'pg';
import type { User, UserStore } from '@bulwark/core';
import { toUserWith, USER_COLUMNS, type UserRow } from '@bulwark/store-sql';
import { PG_COLUMNS, type PgColumns } from './codec.js';
import { query, type Queryable } from './db.js';

const toUser = toUserWith(PG_COLUMNS);

/** Inserts a user row (shared with the organization bootstrap transaction). */
export async function insertUser(db: Queryable, u: User): Promise<void> {
  await query(
    db,
    `INSERT INTO users (id, email, name, password_hash, totp_secret_sealed, totp_enabled,
       failed_logins, locked_until, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      u.id,
      u.email,
      u.name,
      u.passwordHash,
      u.totpSecretSealed,
      u.totpEnabled,
      u.failedLogins,
      u.lockedUntil,
      u.createdAt,
      u.updatedAt,
    ],
  );
}

/** The users table behind the UserStore port; email uniqueness is on lower(email). */
export function createUserStore(pool: Pool): UserStore {
  return {
    async create(user) {
      await insertUser(pool, user);
    },
    async get(id) {
      const r = await query<UserRow<PgColumns>>(pool, 'SELECT * FROM users WHERE id = $1', [id]);
      return r.rows[0] && toUser(r.rows[0]);
    },
    async getByEmail(email) {
      const r = await query<UserRow<PgColumns>>(
        pool,
        'SELECT * FROM users WHERE lower(email) = lower($1)',
        [email],
      );
      return r.rows[0] && toUser(r.rows[0]);
    },
    async update(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(USER_COLUMNS)) {
        const value = patch[key as keyof typeof USER_COLUMNS];
        if (value === undefined) continue;
        values.push(value);
        sets.push(`${column} = $${values.length}`);
      }
      if (sets.length === 0) return;
      values.push(id);
      await query(pool, `UPDATE users SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
    },
    async count() {
      const r = await query<{ n: number }>(pool, 'SELECT count(*) AS n FROM users');
      return r.rows[0]?.n ?? 0;
    },
  };
}

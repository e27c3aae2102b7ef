import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { BulwarkError, type ErrorCode } from '@bulwark/protocol';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pool | PoolClient;

/** Unique indexes whose clash is a caller-visible conflict, by constraint (index) name. */
const UNIQUE_CODES: Readonly<Record<string, ErrorCode>> = {
  users_email_key: 'email_taken',
  devices_org_name_key: 'device_name_taken',
  channels_org_name_key: 'channel_name_taken',
  firmware_artifacts_org_sha256_key: 'firmware_artifact_exists',
};

/** Turns a unique violation (SQLSTATE 23505) on a known index into its BulwarkError. */
export function translateError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const { code, constraint } = err as { code?: unknown; constraint?: unknown };
  if (code !== '23505' || typeof constraint !== 'string') return err;
  const mapped = UNIQUE_CODES[constraint];
  return mapped === undefined ? err : new BulwarkError(mapped, undefined, { cause: err });
}

/** Runs one statement, mapping known unique violations to BulwarkError. */
export async function query<R extends QueryResultRow>(
  db: Queryable,
  sql: string,
  params: readonly unknown[] = [],
): Promise<{ rows: R[]; rowCount: number }> {
  try {
    const r = await db.query<R>(sql, params as unknown[]);
    return { rows: r.rows, rowCount: r.rowCount ?? 0 };
  } catch (err) {
    throw translateError(err);
  }
}

/** Runs `fn` in one transaction on one pooled client: COMMIT if it returns, ROLLBACK if it throws. */
export async function transaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A client whose ROLLBACK failed is in an unknown state: destroy it instead of pooling it.
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw translateError(err);
  } finally {
    client.release(broken);
  }
}

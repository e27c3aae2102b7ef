import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import pg from 'pg';

/** The default database for PostgreSQL tests: a local server with trust auth. */
export const DEFAULT_POSTGRES_TEST_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The PostgreSQL URL tests use: `BULWARK_TEST_DATABASE_URL`, or the local default. */
export function postgresTestUrl(): string {
  const url = process.env['BULWARK_TEST_DATABASE_URL'];
  return url !== undefined && url !== '' ? url : DEFAULT_POSTGRES_TEST_URL;
}

/** `url` with any password masked, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Why PostgreSQL at `url` cannot be used, or undefined when a trivial query succeeds. */
export async function probePostgres(url: string = postgresTestUrl()): Promise<string | undefined> {
  // Short timeout: an absent server should cost a test run seconds, not minutes.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${redact(url)} is unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Decides whether this file's PostgreSQL suites run. Returns `false` when the database answers;
 * otherwise a skip reason. Under `CI=true` an unreachable database is a failure, not a skip: a
 * failing test saying so is registered (and the reason is still returned so the suites skip).
 */
export async function requirePostgres(url: string = postgresTestUrl()): Promise<string | false> {
  const problem = await probePostgres(url);
  if (problem === undefined) return false;
  if (process.env['CI'] === 'true') {
    it('PostgreSQL is reachable (required when CI=true)', () => {
      assert.fail(`${problem}. Start PostgreSQL or set BULWARK_TEST_DATABASE_URL.`);
    });
    return `${problem} (reported as a failure because CI=true)`;
  }
  return `${problem}; set BULWARK_TEST_DATABASE_URL or start PostgreSQL to run these tests`;
}

/** Schema names handed out for one test run, and their cleanup. */
export interface PostgresSchemas {
  /** The database URL the schemas live in. */
  readonly url: string;
  /** A fresh, unique schema name (`t_<pid>_<random>_<n>`); it is dropped when the run ends. */
  next(): string;
  /** Drops every schema handed out so far (also registered as an `after` hook). */
  dropAll(): Promise<void>;
}

/**
 * Hands out unique schema names so parallel test runs sharing one database never collide, and
 * registers an `after` hook in the calling scope that drops them all (CASCADE) at the end.
 */
export function withPostgresSchemas(url: string = postgresTestUrl()): PostgresSchemas {
  const run = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const names: string[] = [];
  const schemas: PostgresSchemas = {
    url,
    next() {
      const name = `${run}_${names.length + 1}`;
      names.push(name);
      return name;
    },
    async dropAll() {
      if (names.length === 0) return;
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        for (const name of names.splice(0)) {
          // Names are generated above from [a-z0-9_] only, so quoting is safe.
          await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
  after(() => schemas.dropAll());
  return schemas;
}

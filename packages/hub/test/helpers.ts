/** Test helpers: an in-process hub on a temp data dir, and clients that trust its CA. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import pino from 'pino';
import { createClient, type BulwarkClient } from '@bulwark/sdk';
import type { Clock } from '@bulwark/core';
import type { PostgresSchemas } from '@bulwark/testkit';
import { loadConfig, startHub, type Hub, type HubOptions } from '@bulwark/hub';

/** A clock tests can move forward. */
export class FakeClock implements Clock {
  constructor(public t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestHub {
  hub: Hub;
  dir: string;
  url: string;
  ca: string;
  clock: FakeClock;
  /** A fetch that trusts the hub CA (and presents a client certificate when given). */
  fetchWith(client?: { cert: string; key: string }): typeof fetch;
  client(token?: string, tls?: { cert: string; key: string }): BulwarkClient;
  close(): Promise<void>;
}

/**
 * Starts a hub on 127.0.0.1, any free port, in a fresh temp dir that `close()` removes — or on a
 * given data dir, which is kept (to start a hub on it again).
 */
export async function startTestHub(
  extra: string[] = [],
  opts: { dir?: string; consoleDir?: string; eventStream?: HubOptions['eventStream'] } = {},
): Promise<TestHub> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'bulwark-hub-'));
  const config = loadConfig(
    [
      '--data-dir',
      dir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--http-host',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...extra,
    ],
    {},
  );
  const clock = new FakeClock();
  const hub = await startHub(config, {
    print: () => undefined,
    logger: pino({ level: 'silent' }),
    clock,
    ...(opts.consoleDir !== undefined ? { consoleDir: opts.consoleDir } : {}),
    ...(opts.eventStream !== undefined ? { eventStream: opts.eventStream } : {}),
  });
  const ca = readFileSync(hub.info.caFile, 'utf8');
  const fetchWith = (client?: { cert: string; key: string }) => {
    const dispatcher = new Agent({ connect: { ca, ...(client ?? {}) } });
    return ((input: string, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
  };
  return {
    hub,
    dir,
    url: hub.info.url,
    ca,
    clock,
    fetchWith,
    client: (token, tls) =>
      createClient({ baseUrl: hub.info.url, ...(token ? { token } : {}), fetch: fetchWith(tls) }),
    async close() {
      await hub.stop();
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const PASSWORD = 'a long and unguessable passphrase';

/** Completes setup and returns an owner's access token and an all-permissions API key. */
export async function setupOwner(t: TestHub, email = 'owner@example.com') {
  const anon = t.client();
  const setup = await anon.setup.complete({
    token: t.hub.setupToken!,
    organization: 'Acme',
    email,
    name: 'Owner',
    password: PASSWORD,
  });
  const tokens = await anon.auth.login({ email, password: PASSWORD });
  const owner = t.client(tokens.accessToken);
  const { key } = await owner.apiKeys.create({
    name: 'test',
    permissions: [
      'devices:read',
      'devices:manage',
      'users:manage',
      'api-keys:manage',
      'audit:read',
    ],
  });
  return {
    orgId: setup.organization.id,
    userId: setup.user.id,
    tokens,
    owner,
    apiKey: key,
    api: t.client(key),
  };
}

/** Raw JSON request (for bad-input tests the typed client would refuse to send). */
export async function raw(
  t: TestHub,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  headers: Record<string, string> = {},
) {
  const res = await t.fetchWith()(`${t.url}/api/v1${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Asserts that a promise fails with a Bulwark error of this code (and returns the error). */
export async function rejectsWith(
  p: Promise<unknown>,
  code: string,
): Promise<{ code: string; message: string; status?: number }> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  const e = caught as { code?: string; message: string; status?: number } | undefined;
  if (!e) throw new Error(`expected an error with code ${code}, but the call succeeded`);
  if (e.code !== code)
    throw new Error(`expected code ${code}, got ${String(e.code)}: ${e.message}`);
  return e as { code: string; message: string; status?: number };
}

/**
 * Polls `check` until it answers something other than undefined, every `everyMs` (100), at most
 * `tries` times (100); then fails naming `what`.
 */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  opts: { tries?: number; everyMs?: number } = {},
): Promise<T> {
  for (let i = 0; i < (opts.tries ?? 100); i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Two hub nodes sharing one PostgreSQL schema (a fresh one from `schemas`), NATS on loopback under
 * their own deployment prefix (`test-<name>`: test files running at once must not see each other's
 * events and messages) and node A's master key. Close B before A.
 */
export async function startClusterPair(
  schemas: PostgresSchemas,
  name: string,
  extra: string[] = [],
): Promise<{ a: TestHub; b: TestHub }> {
  const shared = [
    '--database',
    schemas.url,
    '--database-schema',
    schemas.next(),
    '--bus',
    'nats://127.0.0.1:4222',
    '--nats-prefix',
    `test-${name}`,
    ...extra,
  ];
  const a = await startTestHub(shared);
  const b = await startTestHub([...shared, '--master-key-file', join(a.dir, 'master.key')]);
  return { a, b };
}

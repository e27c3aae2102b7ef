/**
 * A hub in its own process (the `bulwark` CLI) on a data dir, for crash tests: the owner and an
 * API key are made with the admin commands before the first start; `start()` waits for
 * runtime.json, `kill()` sends SIGKILL, and a restart runs on the same data dir and database.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { createClient, type BulwarkClient } from '@bulwark/sdk';

const BIN = new URL('../../../cli/bin/bulwark.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What runtime.json says (the fields the tests use). */
export interface ChildRuntime {
  url: string;
  mqttPort: number;
  caFile: string;
}

export interface HubChild {
  dir: string;
  apiKey: string;
  start(): Promise<ChildRuntime>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), and wait for the exit. */
  stop(): Promise<void>;
  /** An SDK client with the API key, trusting the hub's CA. */
  api(rt: ChildRuntime): BulwarkClient;
  /** An anonymous SDK client (enrollment). */
  anon(rt: ChildRuntime): BulwarkClient;
  remove(): void;
}

/**
 * Prepares a data dir with an owner and an API key; `extra` are more hub (and admin) flags.
 * `existing` runs on a data dir (and database) that already hold them — a restored backup.
 */
export function hubChild(
  extra: string[] = [],
  existing?: { dir: string; apiKey: string },
): HubChild {
  const dir = existing?.dir ?? mkdtempSync(join(tmpdir(), 'bulwark-child-'));
  const env = { ...process.env, BULWARK_PASSWORD: 'a long and unguessable test passphrase' };
  const admin = (args: string[]) =>
    execFileSync(process.execPath, [BIN, 'admin', ...args, '--data-dir', dir, ...extra], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    })
      .toString()
      .trim();
  let apiKey = existing?.apiKey ?? '';
  if (existing === undefined) {
    admin(['create-owner', '--email', 'owner@example.com']);
    apiKey = admin(['api-key', '--name', 'crash-test']);
  }
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => c.once('exit', () => r()));
  const sdk = (rt: ChildRuntime, token?: string) => {
    const dispatcher = new Agent({ connect: { ca: readFileSync(rt.caFile, 'utf8') } });
    const f = ((input: string, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
    return createClient({ baseUrl: rt.url, ...(token ? { token } : {}), fetch: f });
  };
  return {
    dir,
    apiKey,
    async start() {
      rmSync(join(dir, 'runtime.json'), { force: true });
      const c = spawn(
        process.execPath,
        [
          BIN,
          'hub',
          '--data-dir',
          dir,
          '--http-host',
          '127.0.0.1',
          '--http-port',
          '0',
          '--mqtt-port',
          '0',
          '--log-level',
          'error',
          ...extra,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'], env },
      );
      child = c;
      // A minute: on a busy shared machine a hub start (migrations, keys, listeners) can take 30 s.
      const until = Date.now() + 60_000;
      while (!existsSync(join(dir, 'runtime.json'))) {
        if (Date.now() > until || c.exitCode !== null) throw new Error('the hub did not start');
        await sleep(20);
      }
      return JSON.parse(readFileSync(join(dir, 'runtime.json'), 'utf8')) as ChildRuntime;
    },
    async kill() {
      if (child === undefined) return;
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
    async stop() {
      if (child === undefined) return;
      const done = exited(child);
      child.kill('SIGTERM');
      await done;
    },
    api: (rt) => sdk(rt, apiKey),
    anon: (rt) => sdk(rt),
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

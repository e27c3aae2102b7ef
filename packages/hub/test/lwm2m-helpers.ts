/**
 * Shared helpers of the LwM2M interop tests: Eclipse Wakaama's example clients (plain and
 * DTLS-PSK, `../shared/tools/lwm2m/`), bounded polling, and reading JSON values by path.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Wakaama's client by file name; under CI=true a missing binary fails the file, never skips. */
export function wakaama(name: 'lwm2mclient' | 'lwm2mclient-dtls'): {
  path: string;
  skip: string | false;
} {
  // packages/hub/dist/test → the repository root → ../shared/tools/lwm2m (on every CI machine).
  const path = fileURLToPath(new URL(`../../../../../shared/tools/lwm2m/${name}`, import.meta.url));
  const present = existsSync(path);
  if (!present && process.env['CI'] === 'true') {
    it(`Wakaama ${name} is present (required when CI=true)`, () => assert.fail(`missing ${path}`));
  }
  return { path, skip: present ? false : `Wakaama ${name} not found at ${path}` };
}

/** The value at `keys` inside a JSON value, if any. */
export const at = (v: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>(
    (o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
    v,
  );

/** Polls `fn` until it returns a value other than undefined/false, at most `ms`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (let i = 0; Date.now() < end && i < 1000; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}

/** A running Wakaama client: its stdin stays open (at EOF it spins at 100% CPU). */
export interface Client {
  proc: ChildProcess;
  out: () => string;
  say(line: string): void;
  exited: Promise<number | null>;
}

/** Starts a Wakaama client against 127.0.0.1:port; `psk` selects the DTLS build's flags. */
export function startWakaama(
  binary: string,
  o: {
    port: number;
    endpoint: string;
    lifetime?: number;
    psk?: { identity: string; hexKey: string };
    /** `-b`: the server is a bootstrap server; the client bootstraps first (decision 0045). */
    bootstrap?: boolean;
  },
): Client {
  const args = ['-4', '-h', '127.0.0.1', '-p', String(o.port), '-n', o.endpoint, '-l', '0'];
  args.push('-t', String(o.lifetime ?? 300));
  if (o.psk) args.push('-i', o.psk.identity, '-s', o.psk.hexKey);
  if (o.bootstrap) args.push('-b');
  const proc = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => out, say: (l) => proc.stdin.write(`${l}\n`), exited };
}

/** Stops a client for good (SIGKILL after 3 s), bounded. */
export async function stopWakaama(c: Client | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGINT');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 3000);
  await c.exited;
  clearTimeout(t);
}

// A hub in its own process on a temp data dir, for the benchmarks: owner + API key made with the
// admin CLI before the first start, `start()` / `stop()` (restartable on the same ports).
// Options: `shared` — config flags the admin commands need too (e.g. --database, --database-schema);
// `execArgv` — Node flags for the hub process (e.g. --expose-gc).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../packages/cli/bin/bulwark.js', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Creates the data dir, the owner and an API key; `extra` are more hub flags. */
export function hubProcess(prefix, extra = [], { shared = [], execArgv = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, BULWARK_PASSWORD: 'a long and unguessable bench passphrase' };
  execFileSync(
    process.execPath,
    [BIN, 'admin', 'create-owner', '--data-dir', dir, ...shared, '--email', 'owner@example.com'],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const apiKey = execFileSync(
    process.execPath,
    [BIN, 'admin', 'api-key', '--data-dir', dir, ...shared, '--name', 'bench'],
    { env, stdio: ['ignore', 'pipe', 'ignore'] },
  )
    .toString()
    .trim();
  let child;
  return {
    dir,
    apiKey,
    get pid() {
      return child?.pid;
    },
    /** Starts the hub (port 0 = any) and returns its runtime.json. */
    async start(httpPort = 0, mqttPort = 0) {
      rmSync(join(dir, 'runtime.json'), { force: true });
      child = spawn(
        process.execPath,
        [
          ...execArgv,
          BIN,
          'hub',
          '--data-dir',
          dir,
          '--http-host',
          '127.0.0.1',
          '--http-port',
          String(httpPort),
          '--mqtt-port',
          String(mqttPort),
          '--log-level',
          'error',
          ...shared,
          ...extra,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'], env },
      );
      const until = Date.now() + 60_000;
      while (!existsSync(join(dir, 'runtime.json'))) {
        if (Date.now() > until || child.exitCode !== null) throw new Error('the hub did not start');
        await sleep(20);
      }
      return JSON.parse(readFileSync(join(dir, 'runtime.json'), 'utf8'));
    },
    /**
     * SIGTERM (the hub stores what it accepted, then exits); SIGKILL after `graceMs` — a hub
     * saturated by a benchmark may need longer than a run can wait.
     */
    async stop(graceMs = 60_000) {
      if (child === undefined || child.exitCode !== null) return;
      const c = child;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => {
        process.stderr.write(`[bench] the hub did not exit within ${graceMs} ms: SIGKILL\n`);
        c.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

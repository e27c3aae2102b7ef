/**
 * The watchdog `bulwark agent` runs: a small supervisor process that forks the agent worker,
 * expects a heartbeat from it over IPC, and kills (SIGKILL) and restarts a worker whose heartbeats
 * stop — a blocked event loop or a deadlock — as well as one that crashed, with a backoff so a
 * worker failing at start does not spin. It holds no state; the worker's files are durable.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Backoff } from './runtime/backoff.js';

/** Options of the supervisor. */
export interface SupervisorOptions {
  /** Module the worker runs (the CLI entry) and its arguments. */
  module: string;
  args: string[];
  heartbeatTimeoutMs: number;
  log: (msg: string) => void;
  /** Restart backoff bounds. */
  restartMinMs?: number;
  restartMaxMs?: number;
}

/** A worker that ran this long is considered healthy: the next crash restarts it promptly again. */
const STABLE_MS = 5 * 60_000;
/** A worker asked to stop gets this long before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** The heartbeat message a worker sends. */
export const HEARTBEAT = 'bulwark-agent-heartbeat';

/** Runs the supervisor until SIGTERM/SIGINT; resolves with the exit code. */
export function runSupervisor(o: SupervisorOptions): Promise<number> {
  const backoff = new Backoff(o.restartMinMs ?? 1000, o.restartMaxMs ?? 60_000);
  let child: ChildProcess | undefined;
  let stopping = false;
  let lastBeat = 0;
  let startedAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let done: (code: number) => void = () => undefined;

  const start = () => {
    if (stopping) return;
    startedAt = Date.now();
    lastBeat = Date.now();
    const c = fork(o.module, o.args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = c;
    o.log(`worker started (pid ${c.pid})`);
    c.on('message', (m) => {
      if (m === HEARTBEAT) lastBeat = Date.now();
    });
    c.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) {
        done(0);
        return;
      }
      if (Date.now() - startedAt > STABLE_MS) backoff.reset();
      // The floor keeps a crash loop at no more than a few restarts a second.
      const wait = Math.max(250, backoff.next());
      o.log(`worker exited (${signal ?? `code ${code}`}); restarting in ${wait} ms`);
      restartTimer = setTimeout(start, wait);
    });
  };

  const watch = setInterval(
    () => {
      if (child === undefined || stopping) return;
      if (Date.now() - lastBeat > o.heartbeatTimeoutMs) {
        o.log(
          `worker hung (no heartbeat for ${Date.now() - lastBeat} ms): killing pid ${child.pid}`,
        );
        child.kill('SIGKILL');
        lastBeat = Date.now();
      }
    },
    Math.min(1000, o.heartbeatTimeoutMs / 4),
  );

  return new Promise<number>((resolve) => {
    done = (code) => {
      clearInterval(watch);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(code);
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearTimeout(restartTimer);
      const c = child;
      if (c === undefined) {
        done(0);
        return;
      }
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    start();
  });
}

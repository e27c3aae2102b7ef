/**
 * The health check of a freshly booted slot: the link to the hub comes up, then each configured
 * command exits 0 within its timeout, then each check the application registered resolves — all
 * within `update.healthTimeoutSeconds`. The first failure (or the timeout) is the verdict.
 */
import { execFile } from 'node:child_process';

/** A configured command check (`update.healthChecks`). */
export interface HealthCommand {
  name: string;
  /** Program and arguments (no shell). */
  command: string[];
  timeoutSeconds: number;
}

/** An application check: resolves when healthy, rejects (with the reason) when not. */
export type HealthCheckFn = (signal: AbortSignal) => Promise<void>;

/** What a health check run needs. */
export interface HealthCheckRun {
  commands: readonly HealthCommand[];
  checks: ReadonlyMap<string, HealthCheckFn>;
  /** Resolves once the link to the hub is up (rejects on abort). */
  connected(signal: AbortSignal): Promise<void>;
  timeoutMs: number;
  /** Stops the run (the agent stops); the verdict is then meaningless and not acted on. */
  signal?: AbortSignal;
}

/** The verdict. */
export type HealthVerdict = { healthy: true } | { healthy: false; reason: string };

/** Runs the checks in order; never throws. */
export async function runHealthChecks(run: HealthCheckRun): Promise<HealthVerdict> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, run.timeoutMs);
  const stop = () => ac.abort();
  run.signal?.addEventListener('abort', stop, { once: true });
  const step = async (what: string, fn: () => Promise<void>): Promise<string | undefined> => {
    try {
      await fn();
      return undefined;
    } catch (err) {
      return timedOut
        ? `no verdict within ${Math.round(run.timeoutMs / 1000)} s (waiting for ${what})`
        : `${what}: ${(err as Error).message}`;
    }
  };
  try {
    const link = await step('the hub connection', () => run.connected(ac.signal));
    if (link !== undefined) return { healthy: false, reason: link };
    for (const c of run.commands) {
      const r = await step(`check ${c.name}`, () => runCommand(c, ac.signal));
      if (r !== undefined) return { healthy: false, reason: r };
    }
    for (const [name, fn] of run.checks) {
      const r = await step(`check ${name}`, () => fn(ac.signal));
      if (r !== undefined) return { healthy: false, reason: r };
    }
    return { healthy: true };
  } finally {
    clearTimeout(timer);
    run.signal?.removeEventListener('abort', stop);
  }
}

function runCommand(c: HealthCommand, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      c.command[0]!,
      c.command.slice(1),
      { timeout: c.timeoutSeconds * 1000, signal, maxBuffer: 64 * 1024 },
      (err, _out, stderr) => {
        if (err === null) {
          resolve();
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        const tail = String(stderr).trim().split('\n').pop()?.slice(0, 200) ?? '';
        reject(
          new Error(
            e.killed === true
              ? `timed out after ${c.timeoutSeconds} s`
              : typeof e.code === 'number'
                ? `exit code ${String(e.code)}${tail ? ` (${tail})` : ''}`
                : e.message,
          ),
        );
      },
    );
  });
}

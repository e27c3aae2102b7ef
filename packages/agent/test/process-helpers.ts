/** Runs `bulwark agent` as a child process (its own process group) and reads its log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));

export interface AgentProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line (seen so far or later) matching `re`. */
  waitLine(re: RegExp, ms?: number, from?: number): Promise<RegExpExecArray>;
  /** SIGKILL to the whole group (supervisor and worker), as a power cut would. */
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

export function writeConfig(file: string, config: object): string {
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A child process whose stdout and stderr are read as lines. */
export interface LineProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /**
   * The first line (from index `from`, seen so far or later) for which `match` gives a value;
   * rejects after `ms`, or when the process has closed its output without such a line.
   */
  waitFor<T>(match: (l: string) => T | undefined, ms?: number, from?: number): Promise<T>;
  /** SIGKILL (to its whole process group when `detached`), as a power cut would. */
  kill9(): Promise<void>;
}

/** Runs `node ARGS…` with its output read as lines (`onLine` sees each as it comes). */
export function spawnLines(
  args: string[],
  o: { env?: Record<string, string>; detached?: boolean; onLine?: (l: string) => void } = {},
): LineProcess {
  const child = spawn(process.execPath, args, {
    detached: o.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.env ? { env: { ...process.env, ...o.env } } : {}),
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let closed = false;
  const onData = (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      o.onLine?.(l);
    }
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('close', () => {
    closed = true;
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitFor(match, ms = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const settle = (f: () => void) => {
          waiters.delete(check);
          clearTimeout(timer);
          f();
        };
        const check = () => {
          for (const l of lines.slice(from)) {
            const v = match(l);
            if (v !== undefined) return settle(() => resolve(v));
          }
          if (closed)
            settle(() => reject(new Error(`exited without such a line:\n${lines.join('\n')}`)));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such line within ${ms} ms:\n${lines.join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        if (o.detached) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    },
  };
}

export function spawnAgent(configFile: string, extraArgs: string[] = []): AgentProcess {
  const p = spawnLines([BIN, 'agent', '--config', configFile, ...extraArgs], { detached: true });
  return {
    ...p,
    waitLine: (re, ms = 15_000, from = 0) => p.waitFor((l) => re.exec(l) ?? undefined, ms, from),
  };
}

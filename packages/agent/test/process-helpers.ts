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

export function spawnAgent(configFile: string, extraArgs: string[] = []): AgentProcess {
  const child = spawn(process.execPath, [BIN, 'agent', '--config', configFile, ...extraArgs], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString('utf8');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitLine(re, ms = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const l of lines.slice(from)) {
            const m = re.exec(l);
            if (m) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(m);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${re} in:\n${lines.join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    },
  };
}

// Child-process helper shared by bench/mqtt.mjs and bench/mqtt-mtls.mjs: fork a bench script with
// an IPC channel, await its messages with a timeout, and kill every child still alive at the end.
import { fork } from 'node:child_process';

const here = new URL('.', import.meta.url).pathname;
const live = new Set();

export function child(script, args = [], execArgv = []) {
  const c = fork(here + script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(c);
  const messages = [];
  const waiters = [];
  let exited = false;
  const exitWaiters = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  c.on('message', (m) => {
    messages.push(m);
    wake();
  });
  c.on('exit', () => {
    exited = true;
    live.delete(c);
    wake();
    exitWaiters.splice(0).forEach((w) => w());
  });
  const next = async (ms = 30_000) => {
    const end = Date.now() + ms;
    while (messages.length === 0) {
      if (exited) throw new Error(`${script}: exited (code ${c.exitCode}) before answering`);
      if (Date.now() > end) throw new Error(`${script}: no message in ${ms} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, 100);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return messages.shift();
  };
  /** Wait (bounded) for the child to exit by itself, then kill it if it has not. */
  const stop = async (ms = 5000) => {
    if (!exited) {
      await new Promise((r) => {
        const t = setTimeout(r, ms);
        exitWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    if (!exited) c.kill('SIGKILL');
  };
  const send = (m) => {
    if (!exited && c.connected) c.send(m);
  };
  return { proc: c, next, send, stop };
}

/** Track a process spawned elsewhere (e.g. our own Mosquitto) so that killChildren() ends it too. */
export function adopt(proc) {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

const cleanups = new Set();
/** Run `fn` from killChildren() unless it was released first (temp dirs on a hard exit). */
export function onCleanup(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Kill (by pid, SIGKILL) every child this module forked or adopted that is still running. */
export function killChildren() {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

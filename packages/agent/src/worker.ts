/**
 * The agent worker process: one Agent on the device's state directory and /proc, heartbeating to
 * its supervisor. SIGTERM stops it cleanly (presence offline, files closed).
 */
import type { AgentConfig } from './config.js';
import { Agent } from './agent.js';
import { DirFiles } from './files/dir-files.js';
import { LinuxSystem } from './health/linux-system.js';
import { runLocalServices } from './local-services.js';
import { HEARTBEAT } from './supervisor.js';

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** What a program built on the agent (the gateway) runs beside it; returns how to stop it. */
export type WorkerExtension = (
  agent: Agent,
  log: (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void,
) => Promise<() => Promise<void>>;

/** How long a clean stop may take before the worker exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
export async function runWorker(config: AgentConfig, extension?: WorkerExtension): Promise<number> {
  const files = await DirFiles.open(config.stateDir);
  const holder: { agent?: Agent } = {};
  const log = (level: (typeof LEVELS)[number], msg: string) => {
    const wanted =
      (holder.agent?.twin.get('logging.level') as (typeof LEVELS)[number] | undefined) ?? 'info';
    if (LEVELS.indexOf(level) <= LEVELS.indexOf(wanted))
      process.stderr.write(`bulwark agent [${level}] ${msg}\n`);
  };
  const agent = new Agent({
    config,
    files,
    system: new LinuxSystem({
      diskPath: config.stateDir,
      rebootCommand: config.device.rebootCommand,
    }),
    log,
  });
  holder.agent = agent;
  // The heartbeat runs on the event loop: a loop that is blocked sends none, and the supervisor
  // restarts the worker.
  const beat = process.send
    ? setInterval(() => process.send?.(HEARTBEAT), config.watchdog.heartbeatSeconds * 1000)
    : undefined;
  process.send?.(HEARTBEAT);
  agent.on('reboot', () => log('info', 'rebooting the device'));
  await agent.start();
  const stopLocal = runLocalServices(agent, config, log);
  const stopExtension = extension ? await extension(agent, log) : async () => undefined;
  log('info', `agent started (state in ${config.stateDir})`);
  return new Promise<number>((resolve) => {
    const stop = () => {
      clearInterval(beat);
      // A stop that hangs (a peer that never answers) must not keep the process: bounded.
      const forced = setTimeout(() => {
        log('warn', `stopping took over ${STOP_TIMEOUT_MS / 1000} s: exiting anyway`);
        resolve(0);
      }, STOP_TIMEOUT_MS);
      forced.unref();
      void stopExtension()
        .then(stopLocal)
        .then(() => agent.stop())
        .finally(() => {
          clearTimeout(forced);
          resolve(0);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

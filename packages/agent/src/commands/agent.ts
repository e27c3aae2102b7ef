/**
 * `bulwark agent --config FILE [--no-watchdog]`: runs the device agent (`bulwark agent setup`
 * prepares its update slots: agent-setup.ts). By default a small
 * supervisor forks the agent worker and restarts it when its heartbeats stop or it crashes;
 * `--no-watchdog` runs the worker in this process (for a service manager with its own watchdog).
 */
import { parseArgs } from 'node:util';
import { AgentConfigError, loadAgentConfig } from '../config.js';

const USAGE =
  'usage: bulwark agent --config FILE [--no-watchdog]\n' +
  '       bulwark agent setup --config FILE [--image FILE --version V]   prepare the update slots\n';

export async function agentCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'setup')
    return (await import('./agent-setup.js')).agentSetupCommand(argv.slice(1));
  let values: { config?: string; worker?: boolean; 'no-watchdog'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        worker: { type: 'boolean' },
        'no-watchdog': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.config === undefined) {
    process.stderr.write(`error: --config is required\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = await loadAgentConfig(values.config);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (values.worker || values['no-watchdog']) {
    const { runWorker } = await import('../worker.js');
    return runWorker(config);
  }
  const { runSupervisor } = await import('../supervisor.js');
  return runSupervisor({
    module: process.argv[1]!,
    args: ['agent', '--worker', '--config', values.config],
    heartbeatTimeoutMs: config.watchdog.timeoutSeconds * 1000,
    log: (msg) => process.stderr.write(`bulwark agent supervisor: ${msg}\n`),
  });
}

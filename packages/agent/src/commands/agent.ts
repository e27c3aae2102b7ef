/**
 * `bulwark agent --config FILE [--no-watchdog]`: runs the device agent (`bulwark agent setup`
 * prepares its update slots: agent-setup.ts). By default a small
 * supervisor forks the agent worker and restarts it when its heartbeats stop or it crashes;
 * `--no-watchdog` runs the worker in this process (for a service manager with its own watchdog).
 */
import { AgentConfigError, loadAgentConfig } from '../config.js';
import { configCommandArgs } from './command-args.js';

const USAGE =
  'usage: bulwark agent --config FILE [--no-watchdog]\n' +
  '       bulwark agent setup --config FILE [--image FILE --version V]   prepare the update slots\n';

export async function agentCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'setup')
    return (await import('./agent-setup.js')).agentSetupCommand(argv.slice(1));
  const values = configCommandArgs<{
    config?: string;
    worker?: boolean;
    'no-watchdog'?: boolean;
    help?: boolean;
  }>(argv, { worker: { type: 'boolean' }, 'no-watchdog': { type: 'boolean' } }, USAGE);
  if (typeof values === 'number') return values;
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

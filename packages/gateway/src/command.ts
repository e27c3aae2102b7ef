/**
 * `bulwark gateway --config FILE [--no-watchdog]`: runs the gateway — the agent's worker with the
 * gateway beside it, under the agent's supervisor (restarted when its heartbeats stop or it
 * crashes); `--no-watchdog` runs the worker in this process.
 */
import { parseArgs } from 'node:util';
import { AgentConfigError, runSupervisor, runWorker } from '@bulwark/agent';
import { GatewayConfigError, loadGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';

const USAGE = 'usage: bulwark gateway --config FILE [--no-watchdog]\n';

export async function runGatewayCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== 'gateway') {
    process.stderr.write(`error: unknown gateway command ${JSON.stringify(cmd)}\n`);
    return 2;
  }
  let values: { config?: string; worker?: boolean; 'no-watchdog'?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: rest,
      strict: true,
      options: {
        config: { type: 'string' },
        worker: { type: 'boolean' },
        'no-watchdog': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
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
    config = await loadGatewayConfig(values.config);
  } catch (err) {
    if (err instanceof GatewayConfigError || err instanceof AgentConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (values.worker || values['no-watchdog']) {
    return runWorker(config.agent, async (agent, log) => {
      const g = await Gateway.start(agent, config, log);
      return () => g.stop();
    });
  }
  return runSupervisor({
    module: process.argv[1]!,
    args: ['gateway', '--worker', '--config', values.config],
    heartbeatTimeoutMs: config.agent.watchdog.timeoutSeconds * 1000,
    log: (msg) => process.stderr.write(`bulwark gateway supervisor: ${msg}\n`),
  });
}

import type { Io } from '../io.js';

/** The local commands the hub package runs (each takes --help; the hub package's table is the truth). */
export const LOCAL_COMMAND_PATHS: readonly (readonly string[])[] = [
  ['hub'],
  ['admin', 'create-owner'],
  ['admin', 'api-key'],
  ['admin', 'reset-password'],
  ['audit', 'verify'],
];

/** The device commands the agent package runs. */
export const AGENT_COMMAND_PATHS: readonly (readonly string[])[] = [
  ['agent'],
  ['agent', 'setup'],
  ['simulate'],
  ['discover'],
];

/** Whether argv is a local command that acts on a data dir and so runs in the hub package. */
export function isLocalCommand(argv: readonly string[]): boolean {
  const [cmd, sub] = argv;
  return (
    cmd === 'hub' || cmd === 'admin' || cmd === 'doctor' || (cmd === 'audit' && sub === 'verify')
  );
}

/** Whether argv is a command the agent package runs on this machine (agent, simulate, discover). */
export function isAgentCommand(argv: readonly string[]): boolean {
  const [cmd] = argv;
  return cmd === 'agent' || cmd === 'simulate' || cmd === 'discover';
}

/**
 * Loads an optional package by a variable specifier so neither TypeScript nor the dependency rule
 * couples the CLI to it: an install without the hub or the agent still has every remote command.
 */
async function loadOptional<T>(spec: string, io: Io): Promise<T | undefined> {
  try {
    return (await import(spec)) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    io.err(`${spec} is not installed here (npm install ${spec})\n`);
    if (!(err as Error).message.includes(`'${spec}'`)) io.err(`(${(err as Error).message})\n`);
    return undefined;
  }
}

/** Runs a local command (`hub`, `admin …`, `audit verify`) in the hub package. */
export async function runLocalCommand(argv: string[], io: Io): Promise<number> {
  const hub = await loadOptional<{ runLocalCommand(argv: string[]): Promise<number> }>(
    '@bulwark/hub',
    io,
  );
  return hub ? hub.runLocalCommand(argv) : 1;
}

/** Runs `agent`, `simulate` or `discover` in the agent package. */
export async function runAgentCommand(argv: string[], io: Io): Promise<number> {
  const agent = await loadOptional<{ runAgentCommand(argv: string[]): Promise<number> }>(
    '@bulwark/agent',
    io,
  );
  return agent ? agent.runAgentCommand(argv) : 1;
}

/** `bulwark gateway`: run by the gateway package. */
export function isGatewayCommand(argv: readonly string[]): boolean {
  return argv[0] === 'gateway';
}

/** Runs `bulwark gateway …` in the gateway package. */
export async function runGatewayCommand(argv: string[], io: Io): Promise<number> {
  const gateway = await loadOptional<{ runGatewayCommand(argv: string[]): Promise<number> }>(
    '@bulwark/gateway',
    io,
  );
  return gateway ? gateway.runGatewayCommand(argv) : 1;
}

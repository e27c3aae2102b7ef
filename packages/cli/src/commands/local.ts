import type { Io } from '../io.js';

/** Whether argv is a local command that acts on a data dir and so runs in the hub package. */
export function isLocalCommand(argv: readonly string[]): boolean {
  const [cmd, sub] = argv;
  return cmd === 'hub' || cmd === 'admin' || (cmd === 'audit' && sub === 'verify');
}

/**
 * Runs a local command (`hub`, `admin …`, `audit verify`) in the hub package. The specifier is a
 * variable so neither TypeScript nor the dependency rule couples the CLI to the hub: an install
 * without the hub still has every remote command.
 */
export async function runLocalCommand(argv: string[], io: Io): Promise<number> {
  const spec = '@bulwark/hub';
  let hub: { runLocalCommand(argv: string[]): Promise<number> };
  try {
    hub = (await import(spec)) as typeof hub;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    io.err('the hub is not installed here (npm install @bulwark/hub)\n');
    if (!(err as Error).message.includes(`'${spec}'`)) io.err(`(${(err as Error).message})\n`);
    return 1;
  }
  return hub.runLocalCommand(argv);
}

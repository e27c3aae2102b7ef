/**
 * The entry of the self-contained agent (`bulwark-agent.js`, built by scripts/build-agent.mjs):
 * `bulwark-agent --config FILE` is `bulwark agent --config FILE` without the monorepo or the CLI.
 * The watchdog's supervisor forks this same file with `agent --worker …`, so a leading command
 * word (`agent`, `discover`, `simulate`) is accepted as the CLI accepts it.
 */
import { runAgentCommand } from './commands/index.js';

// Set by the bundler (esbuild `define`) to the agent package's version; `dev` when run unbundled.
declare const BULWARK_AGENT_VERSION: string | undefined;

const USAGE = `usage: bulwark-agent --config FILE [--no-watchdog]     run the device agent
       bulwark-agent setup --config FILE [--image FILE --version V]   prepare the update slots
       bulwark-agent discover [--timeout S] [--json]     list Bulwark devices on the LAN
       bulwark-agent --version

The agent as one file: the same program as \`bulwark agent\`, needing only Node.js (>= 20).
`;

const COMMANDS = new Set(['agent', 'discover', 'simulate']);

/** Runs argv (without node and script) and returns the exit code. */
export async function standaloneMain(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-V') {
    const version = typeof BULWARK_AGENT_VERSION === 'string' ? BULWARK_AGENT_VERSION : 'dev';
    process.stdout.write(`bulwark-agent ${version}\n`);
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? process.stderr : process.stdout).write(USAGE);
    return first === undefined ? 2 : 0;
  }
  if (COMMANDS.has(first)) return runAgentCommand(argv);
  return runAgentCommand(['agent', ...argv]);
}

standaloneMain(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

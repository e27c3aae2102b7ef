/**
 * `bulwark agent | simulate | discover`: the commands the agent package runs on a device or a test
 * machine. Each command lives in its own module, loaded only when it runs.
 */
export async function runAgentCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'agent':
      return (await import('./agent.js')).agentCommand(rest);
    case 'simulate':
      return (await import('./simulate.js')).simulateCommand(rest);
    case 'discover':
      return (await import('./discover.js')).discoverCommand(rest);
    default:
      process.stderr.write(`error: unknown agent command ${JSON.stringify(cmd)}\n`);
      return 2;
  }
}

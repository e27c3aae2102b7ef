/** The Bulwark device agent: its command-line entry points and the pieces the simulator reuses. */
export { runAgentCommand } from './commands/index.js';
export type * from './ports.js';

/** @bulwark/cli: the `bulwark` operator command, built on the sdk. */
export { main, mainHelp, reportError } from './main.js';
export { formatTable, formatFields, formatValue, shortTime, type Column } from './output.js';
export {
  resolveConnection,
  fetchTrusting,
  connect,
  type Connection,
  type ConnectionFlags,
} from './connection.js';
export { writeDeviceFiles, assertNoDeviceKey, type DeviceIdentity } from './device-files.js';
export { UsageError, CliError } from './errors.js';
export type { Io } from './io.js';
export { COMMANDS } from './commands/index.js';
export { LOCAL_COMMAND_PATHS, AGENT_COMMAND_PATHS } from './commands/local.js';
export type { Command } from './command.js';

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

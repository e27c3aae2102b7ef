import { configHelp, loadConfig } from '../config.js';
import { configFileWarning } from '../config-file.js';
import { startHub } from '../hub.js';

/** `bulwark hub --help`. */
export function hubUsage(): string {
  return `usage: bulwark hub [--config FILE] [--data-dir DIR] [options]

Runs the hub. Every setting is a flag, a BULWARK_* environment variable or a key of the JSON
config file (--config FILE or BULWARK_CONFIG); flags win over variables, variables over the file.
SIGHUP re-reads the certificate files (--tls-cert, --tls-key, --tls-ca) without dropping connections.

Options (flag, environment variable, meaning):
${configHelp()}
`;
}

/** `bulwark hub`: runs the hub until SIGTERM or SIGINT, then shuts down cleanly. */
export async function runHub(argv: string[]): Promise<number> {
  const config = loadConfig(argv, process.env);
  const warning = configFileWarning(config.config);
  if (warning) process.stderr.write(`WARNING: ${warning}\n`);
  // This process writes only the hub's private files: whatever it creates (SQLite's temporary
  // files, anything a library adds) is owner-only by default, besides the explicit 0600 modes.
  process.umask(0o077);
  const hub = await startHub(config);
  // SIGHUP (systemctl reload) re-reads the certificate files; the outcome is logged either way.
  const reload = () => void hub.reloadTls();
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: shutting down\n`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.off('SIGHUP', reload);
  await hub.stop();
  return 0;
}

import { configHelp, loadConfig } from '../config.js';
import { startHub } from '../hub.js';

/** `bulwark hub`: runs the hub until SIGTERM or SIGINT, then shuts down cleanly. */
export async function runHub(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `usage: bulwark hub --data-dir DIR [options]\n\nOptions (flag, environment variable, meaning):\n${configHelp()}\n`,
    );
    return 0;
  }
  const config = loadConfig(argv, process.env);
  // This process writes only the hub's private files: whatever it creates (SQLite's temporary
  // files, anything a library adds) is owner-only by default, besides the explicit 0600 modes.
  process.umask(0o077);
  const hub = await startHub(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: shutting down\n`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await hub.stop();
  return 0;
}

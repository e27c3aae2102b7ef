import { BulwarkError } from '@bulwark/protocol';
import { ConfigError } from '../config.js';
import { createApiKey, createOwner, resetPassword } from './admin.js';
import { verifyAudit } from './audit.js';
import { doctorCommand } from './doctor.js';
import { hubUsage, runHub } from './hub.js';

/** How every local command finds the hub's database (decision 0026). */
const CONFIG_HELP = `
The hub's configuration (the same database, schema and master key as the hub):
  --config FILE     the hub's config file (or BULWARK_CONFIG); precedence: flags > BULWARK_* > file
  --data-dir DIR    the hub's data dir (or BULWARK_DATA_DIR)
  --database URL    and every other hub setting as a flag or BULWARK_* variable (bulwark hub --help)
A command whose database differs from the one the hub on DIR last started with is refused.
`;

/** A local command: its words, usage line and what it runs. */
interface LocalCommand {
  path: readonly string[];
  usage: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Every local command (acts on a data dir directly; filesystem access to it is full control). */
export const LOCAL_COMMANDS: readonly LocalCommand[] = [
  {
    path: ['hub'],
    usage:
      'bulwark hub [--config FILE] [--data-dir DIR] [--http-port N] [--mqtt-port N] [--database URL] …',
    summary: 'run the hub (--help for every setting)',
    run: runHub,
  },
  {
    path: ['admin', 'create-owner'],
    usage:
      'bulwark admin create-owner [--config FILE | --data-dir DIR …] --email E [--name N] [--organization NAME | --org ID]',
    summary:
      'create an owner account (a new organization, or --org ID); the password comes from BULWARK_PASSWORD, a prompt or stdin',
    run: createOwner,
  },
  {
    path: ['admin', 'api-key'],
    usage:
      'bulwark admin api-key [--config FILE | --data-dir DIR …] --name N [--org ID] [--permission P]… [--expires-days D]',
    summary: 'create an API key and print it once on stdout (all permissions unless --permission)',
    run: createApiKey,
  },
  {
    path: ['admin', 'reset-password'],
    usage: 'bulwark admin reset-password [--config FILE | --data-dir DIR …] --email E',
    summary:
      'set a new password (from BULWARK_PASSWORD, a prompt or stdin), clear the lock and end every session of the user',
    run: resetPassword,
  },
  {
    path: ['audit', 'verify'],
    usage: 'bulwark audit verify [--config FILE | --data-dir DIR …] [--json]',
    summary: "walk the audit log's hash chain; exit 1 if it is broken",
    run: verifyAudit,
  },
  {
    path: ['doctor'],
    usage:
      'bulwark doctor [--service-env FILE | --data-dir DIR] [--name N]… [--backup-dir DIR] [--json]',
    summary: 'check a running installation: pass, warn or fail per check; exit 1 when one fails',
    run: doctorCommand,
  },
];

const USAGE = `local commands (act on the hub's database directly; --help on each):\n${LOCAL_COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`).join('\n')}\n`;

const wantsHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');

/**
 * Entry point the CLI delegates to for commands that need the hub's code and act on a data dir.
 * Returns the process exit code: 0 ok, 1 failure, 2 usage error.
 */
export async function runLocalCommand(argv: string[]): Promise<number> {
  const cmd = LOCAL_COMMANDS.find((c) => c.path.every((w, i) => argv[i] === w));
  try {
    if (cmd === undefined) {
      // `bulwark admin --help` lists them; a bare or unknown group word is a usage error.
      if (wantsHelp(argv)) {
        process.stdout.write(USAGE);
        return 0;
      }
      process.stderr.write(USAGE);
      return 2;
    }
    const rest = argv.slice(cmd.path.length);
    if (wantsHelp(rest)) {
      process.stdout.write(
        cmd.path[0] === 'hub'
          ? hubUsage()
          : `usage: ${cmd.usage}\n\n${cmd.summary}\n${CONFIG_HELP}`,
      );
      return 0;
    }
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof BulwarkError) {
      process.stderr.write(`error: ${err.message} (${err.code})\n`);
      return 1;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

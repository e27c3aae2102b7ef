import { BulwarkError } from '@bulwark/protocol';
import { ConfigError } from '../config.js';
import { createApiKey, createOwner, resetPassword } from './admin.js';
import { verifyAudit } from './audit.js';
import { doctorCommand } from './doctor.js';
import { runHub } from './hub.js';

const USAGE = `local commands (act on a data dir directly):
  bulwark hub --data-dir DIR [--http-port N] [--mqtt-port N] [--database URL] …   run the hub (--help for all)
  bulwark admin create-owner --data-dir DIR --email E [--name N] [--organization NAME | --org ID]
  bulwark admin api-key --data-dir DIR --name N [--org ID] [--permission P]… [--expires-days D]
  bulwark admin reset-password --data-dir DIR --email E   (new password from BULWARK_PASSWORD, a prompt or stdin)
  bulwark audit verify --data-dir DIR [--database URL] [--json]
  bulwark doctor [--service-env FILE | --data-dir DIR] [--name N]… [--backup-dir DIR] [--json]   check an installation`;

/**
 * Entry point the CLI delegates to for commands that need the hub's code and act on a data dir.
 * Returns the process exit code: 0 ok, 1 failure, 2 usage error.
 */
export async function runLocalCommand(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (cmd === 'hub') return await runHub(argv.slice(1));
    if (cmd === 'admin' && sub === 'create-owner') return await createOwner(rest);
    if (cmd === 'admin' && sub === 'api-key') return await createApiKey(rest);
    if (cmd === 'admin' && sub === 'reset-password') return await resetPassword(rest);
    if (cmd === 'audit' && sub === 'verify') return await verifyAudit(rest);
    if (cmd === 'doctor') return await doctorCommand(argv.slice(1));
    process.stderr.write(`${USAGE}\n`);
    return 2;
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

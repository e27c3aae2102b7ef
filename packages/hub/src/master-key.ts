import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

/**
 * Loads the 32-byte master key (hex) that seals CA keys and TOTP secrets, creating it with mode
 * 0600 on first start. A key file readable by group or others is refused: it is the hub's crown.
 */
export function loadMasterKey(path: string, create: boolean): Buffer {
  if (!existsSync(path)) {
    if (!create) throw new Error(`no master key at ${path}`);
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `the master key ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const hex = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(hex))
    throw new Error(`the master key ${path} must hold 64 hex characters (32 bytes)`);
  return Buffer.from(hex, 'hex');
}

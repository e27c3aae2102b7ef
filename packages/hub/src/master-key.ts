/**
 * The master key: 32 bytes that seal the CA keys and TOTP secrets in the database and key the
 * access tokens and the audit chain. Every node of a cluster must hold the same one, so the
 * database keeps a check value of it (decision 0021) and a node holding another key refuses to
 * start before it writes anything.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { HUB_SCOPE, SecretBox, type Storage } from '@bulwark/core';

/**
 * Loads the 32-byte master key (hex) that seals CA keys and TOTP secrets, creating it with mode
 * 0600 on first start. A key file readable by group or others is refused: it is the hub's crown.
 */
export function loadMasterKey(path: string, create: boolean): Buffer {
  return openMasterKey(path, create).key;
}

/** As `loadMasterKey`, and whether this call created the file. */
export function openMasterKey(path: string, create: boolean): { key: Buffer; created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    if (!create) throw new Error(`no master key at ${path}`);
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    created = true;
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
  return { key: Buffer.from(hex, 'hex'), created };
}

/** A node's master key is not the one the shared database was set up with. */
export class MasterKeyMismatchError extends Error {
  override readonly name = 'MasterKeyMismatchError';
}

/** The system key/value entry holding the check value. */
export const MASTER_KEY_CHECK = 'master-key-check';
/** The fixed label MACed under the key: the check value reveals nothing else about it. */
const CHECK_LABEL = 'bulwark master key check v1';
/** The hub CA key's sealing context (packages/core/src/pki/org-authorities.ts, KEY_CONTEXT). */
const HUB_CA_CONTEXT = `ca-key:${HUB_SCOPE}:root`;

/** `v1:` and HMAC-SHA256 of a fixed label under the key, hex. */
export function masterKeyCheckValue(key: Uint8Array): string {
  return `v1:${createHmac('sha256', key).update(CHECK_LABEL).digest('hex')}`;
}

const sameText = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Makes sure `key` is the key the database belongs to, before the hub writes anything sealed:
 * the first node records the check value (`recorded`); every later start compares (`matched`) or
 * throws MasterKeyMismatchError, having changed nothing. A database from before the check value
 * existed is recognised by its hub CA key, which must open with `key`. With `record: false` (the
 * local commands, which may only read) a missing check value is left missing (`unrecorded`).
 */
export async function checkMasterKey(
  storage: Pick<Storage, 'system' | 'pki'>,
  key: Uint8Array,
  where: { keyFile: string; database: string },
  record = true,
): Promise<'recorded' | 'matched' | 'unrecorded'> {
  const mine = masterKeyCheckValue(key);
  const refuse = (why: string) =>
    new MasterKeyMismatchError(
      `the master key in ${where.keyFile} is not the key of the cluster's database (${where.database}): ${why}. ` +
        'Every node of a cluster must use the same master key: copy the key file of a running node ' +
        '(mode 0600) and point --master-key-file at it. Nothing was started, and nothing changed.',
    );
  let have = await storage.system.get(MASTER_KEY_CHECK);
  if (have === undefined) {
    const ca = await storage.pki.getCa(HUB_SCOPE, 'root');
    if (ca) {
      try {
        new SecretBox(key).open(ca.keySealed, HUB_CA_CONTEXT);
      } catch {
        throw refuse('it does not open the hub CA key sealed in the database');
      }
    }
    if (!record) return 'unrecorded';
    if (await storage.system.compareAndSet(MASTER_KEY_CHECK, undefined, mine)) return 'recorded';
    have = await storage.system.get(MASTER_KEY_CHECK); // another node recorded it meanwhile
  }
  if (have === undefined || !sameText(have, mine)) {
    throw refuse('its check value differs from the one the first node recorded');
  }
  return 'matched';
}

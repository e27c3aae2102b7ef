import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';

/** scrypt cost: N = 2^ln, r, p. ln=15,r=8 uses 32 MiB per hash (memory-hard, ~50–100 ms here). */
export interface ScryptCost {
  ln: number;
  r: number;
  p: number;
}

/** OWASP's scrypt baseline (N=2^17 is stronger; 2^15 keeps login under ~100 ms on a 2-core box). */
export const DEFAULT_SCRYPT_COST: ScryptCost = { ln: 15, r: 8, p: 1 };

const KEY_LEN = 32;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const opts: ScryptOptions = {
    N: 2 ** cost.ln,
    r: cost.r,
    p: cost.p,
    // scrypt needs 128·N·r bytes; allow twice that so the default 32 MiB limit doesn't refuse it.
    maxmem: 256 * 2 ** cost.ln * cost.r,
  };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LEN, opts, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Hashes a password to a PHC-style string `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64). */
export async function hashPassword(
  password: string,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PHC.exec(stored);
  if (!m) return false;
  const cost = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const expected = Buffer.from(m[5] ?? '', 'base64');
  const key = await derive(password, Buffer.from(m[4] ?? '', 'base64'), cost);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, to spend the same time on unknown emails as on known ones. */
export const DUMMY_HASH_INPUT = randomBytes(16).toString('hex');

const COMMON = new Set([
  'password1234',
  '123456789012',
  'qwertyuiopas',
  'passwordpassword',
  'changemechangeme',
]);

/**
 * Refuses passwords that are too short or trivially guessable (NIST SP 800-63B §5.1.1: length over
 * composition rules).
 * @throws BulwarkError weak_password
 */
export function checkPasswordPolicy(password: string, email?: string): void {
  if (password.length < 12)
    throw new BulwarkError('weak_password', 'the password must have at least 12 characters');
  const lower = password.toLowerCase();
  if (COMMON.has(lower) || new Set(lower).size < 4) {
    throw new BulwarkError('weak_password', 'the password is too easy to guess');
  }
  if (email && lower.includes(email.toLowerCase().split('@')[0] ?? '\u0000')) {
    throw new BulwarkError('weak_password', 'the password must not contain the email name');
  }
}

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals secrets at rest (CA private keys, TOTP secrets) with AES-256-GCM under a key derived from
 * the hub's master key. Sealed form: `v1.<iv>.<tag>.<ciphertext>`, base64url parts. The `context`
 * string is bound as additional data, so a sealed CA key cannot be swapped in as a TOTP secret.
 */
export class SecretBox {
  readonly #key: Buffer;

  /** @param masterKey 32 random bytes (the data dir's `master.key` or the operator's own). */
  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    this.#key = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), 'bulwark secret-box v1', 32),
    );
  }

  seal(plaintext: string | Uint8Array, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(context));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return ['v1', iv, c.getAuthTag(), ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** @throws Error when the box was sealed under another key or context, or was altered. */
  open(sealed: string, context: string): Buffer {
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== 'v1' || iv === undefined || tag === undefined || ct === undefined) {
      throw new Error('not a sealed secret');
    }
    const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]);
  }
}

/** Derives a purpose-bound 32-byte key from the master key (e.g. the access-token signing key). */
export function deriveKey(masterKey: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `bulwark ${purpose}`, 32));
}

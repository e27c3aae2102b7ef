import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { Key, Signature } from '@tufjs/models';
import { canonicalJson } from './canonical.js';

/** The signature algorithms a Bulwark release or root key may use. */
export type KeyAlgorithm = 'ed25519' | 'p256';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ed25519', 'p256'];

/** A private signing key: its TUF key id, public key entry and the PKCS#8 PEM the operator keeps. */
export interface SigningKey {
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  /** The public half as a TUF key entry (what root metadata lists). */
  readonly publicKey: Key;
  /** PKCS#8 PEM of the private key. Never leaves the operator's machine. */
  readonly privatePem: string;
}

/**
 * The TUF key entry of a public key. Ed25519 uses the TUF standard hex encoding of the raw 32 bytes,
 * ECDSA P-256 the `ecdsa-sha2-nistp256` scheme with an SPKI PEM, as python-tuf and go-tuf write them.
 * The key id is the sha256 of the canonical JSON of the entry (TUF spec §4.2 "KEYID").
 */
export function publicKeyEntry(key: KeyObject): Key {
  const type = key.asymmetricKeyType;
  let body: { keytype: string; scheme: string; keyval: { public: string } };
  if (type === 'ed25519') {
    const jwk = key.export({ format: 'jwk' });
    const raw = Buffer.from(jwk.x ?? '', 'base64url');
    body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  } else if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    const pem = key.export({ format: 'pem', type: 'spki' }).toString();
    body = { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } };
  } else {
    throw new TypeError(`unsupported key type ${type ?? 'unknown'} (use ed25519 or ECDSA P-256)`);
  }
  const keyId = createHash('sha256').update(canonicalJson(body)).digest('hex');
  return new Key({ keyID: keyId, keyType: body.keytype, scheme: body.scheme, keyVal: body.keyval });
}

/** Generates a new signing key (Ed25519 unless `p256` is asked for). */
export function generateSigningKey(algorithm: KeyAlgorithm = 'ed25519'): SigningKey {
  const { privateKey } =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return signingKeyFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
}

/** Loads a signing key from its PKCS#8 PEM; throws a TypeError for anything but Ed25519 / P-256. */
export function signingKeyFromPem(privatePem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privatePem);
  } catch (err) {
    throw new TypeError(`not a private key in PEM: ${(err as Error).message}`);
  }
  const publicKey = publicKeyEntry(createPublicKey(privateKey));
  const algorithm: KeyAlgorithm = publicKey.keyType === 'ed25519' ? 'ed25519' : 'p256';
  return { keyId: publicKey.keyID, algorithm, publicKey, privatePem };
}

/**
 * A signer for `Metadata.sign`: signs the canonical bytes it is given. Ed25519 signs the bytes
 * directly (pure EdDSA); ECDSA signs their SHA-256 with a DER-encoded signature, which is what the
 * `ecdsa-sha2-nistp256` scheme expects. Signatures are hex, as TUF stores them.
 */
export function signerFor(key: SigningKey): (data: Buffer) => Signature {
  const privateKey = createPrivateKey(key.privatePem);
  const digest = key.algorithm === 'ed25519' ? null : 'sha256';
  return (data) =>
    new Signature({ keyID: key.keyId, sig: sign(digest, data, privateKey).toString('hex') });
}

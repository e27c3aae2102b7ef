import { createPublicKey, type KeyObject } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { CsrInfo } from '@bulwark/core';
import { sha256Hex } from './encoding.js';
import { algorithmName } from './keys.js';
import { x509 } from './x509.js';

/**
 * Larger input is refused before parsing: a CSR with a 16384-bit RSA key and a few extensions is
 * under 8 KiB, so 64 KiB leaves room while keeping the ASN.1 parser away from hostile sizes.
 */
const MAX_CSR_CHARS = 64 * 1024;
/** NIST SP 800-131A: RSA keys below 2048 bits are disallowed for signatures. */
export const MIN_RSA_BITS = 2048;
const CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
const KEY_TYPE_NAMES: Readonly<Record<string, string>> = {
  dsa: 'DSA',
  dh: 'DH',
  'rsa-pss': 'RSA-PSS',
  ed448: 'Ed448',
  x25519: 'X25519',
  x448: 'X448',
};
const ACCEPTED = 'accepted: EC P-256/P-384/P-521, RSA ≥ 2048 bits, Ed25519';

/** A CSR that passed every check, with what core learns from it. */
export interface CheckedCsr {
  csr: x509.Pkcs10CertificateRequest;
  info: CsrInfo;
}

/**
 * Parses a PEM or bare base64 DER PKCS#10 CSR (RFC 2986), accepts its key and verifies its
 * self-signature — in that order, so an unsupported key is named as such rather than reported as a
 * signature WebCrypto cannot check.
 * @throws BulwarkError csr_malformed | csr_signature_invalid | key_unsupported | key_too_weak
 */
export async function checkCsr(csrText: string): Promise<CheckedCsr> {
  const csr = parseCsr(csrText);
  const spki = new Uint8Array(csr.publicKey.rawData);
  const keyDescription = describeKey(spki, algorithmName(csr.publicKey.algorithm));
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch (cause) {
    const alg = algorithmName(csr.signatureAlgorithm);
    throw new BulwarkError(
      'csr_signature_invalid',
      `the CSR signature (${alg}) cannot be verified`,
      { cause },
    );
  }
  if (!valid)
    throw new BulwarkError(
      'csr_signature_invalid',
      'the CSR signature does not verify with its own public key',
    );
  return { csr, info: { subject: csr.subject, keyDescription, spkiSha256: sha256Hex(spki) } };
}

function parseCsr(text: string): x509.Pkcs10CertificateRequest {
  if (typeof text !== 'string' || text.trim() === '')
    throw new BulwarkError('csr_malformed', 'the CSR is empty');
  if (text.length > MAX_CSR_CHARS) {
    throw new BulwarkError('csr_malformed', `the CSR is larger than ${MAX_CSR_CHARS} characters`);
  }
  const der = decodeCsrText(text.trim());
  try {
    return new x509.Pkcs10CertificateRequest(der);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BulwarkError(
      'csr_malformed',
      `the data is not a DER PKCS#10 certification request (${why})`,
      { cause },
    );
  }
}

function decodeCsrText(text: string): ArrayBuffer {
  if (text.startsWith('-----BEGIN')) {
    let blocks: x509.PemStruct[];
    try {
      blocks = x509.PemConverter.decodeWithHeaders(text);
    } catch (cause) {
      throw new BulwarkError('csr_malformed', 'the PEM armour could not be decoded', { cause });
    }
    const first = blocks[0];
    if (!first) throw new BulwarkError('csr_malformed', 'no complete PEM block was found');
    // RFC 7468 §7 names the label CERTIFICATE REQUEST; older tools wrote NEW CERTIFICATE REQUEST.
    if (first.type !== 'CERTIFICATE REQUEST' && first.type !== 'NEW CERTIFICATE REQUEST') {
      throw new BulwarkError(
        'csr_malformed',
        `expected a PEM "CERTIFICATE REQUEST", got "${first.type}"`,
      );
    }
    return first.rawData;
  }
  const b64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new BulwarkError('csr_malformed', 'the CSR is neither PEM nor base64 DER');
  }
  const bytes = Buffer.from(b64, 'base64');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/**
 * Names a SubjectPublicKeyInfo's key (`EC P-256`, `RSA 3072`, `Ed25519`) if the hub accepts it.
 * @throws BulwarkError key_unsupported | key_too_weak
 */
export function describeKey(spki: Uint8Array, algorithmName: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new BulwarkError(
      'key_unsupported',
      `the key algorithm ${algorithmName} is not supported (${ACCEPTED})`,
    );
  }
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown';
      const name = CURVES[curve];
      if (!name)
        throw new BulwarkError(
          'key_unsupported',
          `the EC curve ${curve} is not supported (${ACCEPTED})`,
        );
      return `EC ${name}`;
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        throw new BulwarkError(
          'key_too_weak',
          `the RSA key has ${bits} bits; the minimum is ${MIN_RSA_BITS}`,
        );
      }
      return `RSA ${bits}`;
    }
    case 'ed25519':
      return 'Ed25519';
    default:
      throw new BulwarkError(
        'key_unsupported',
        `${KEY_TYPE_NAMES[type] ?? type} keys are not supported (${ACCEPTED})`,
      );
  }
}

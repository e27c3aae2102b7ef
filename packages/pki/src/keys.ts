import { createPrivateKey, createPublicKey, type webcrypto } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import type { KeyedCertificate } from '@bulwark/core';
import { toPem } from './encoding.js';
import { x509 } from './x509.js';

/** The algorithm of every key the hub makes: ECDSA on P-256. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** The signature algorithm of every certificate and CRL the hub signs: ecdsa-with-SHA256. */
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** An issuer's certificate with its private key, ready to sign. */
export interface SigningIssuer {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

/** A fresh, extractable ECDSA P-256 key pair. */
export async function generateP256(): Promise<webcrypto.CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

/** A private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which Node's `tls` and OpenSSL read. */
export async function exportPkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return toPem(der, 'PRIVATE KEY');
}

/**
 * Loads an issuer (a CA the hub made): parses its certificate, checks that the PKCS#8 key is the
 * certificate's key — signing with the wrong key would mint certificates nobody can verify — and
 * imports the key for ECDSA P-256 signing.
 */
export async function loadIssuer(issuer: KeyedCertificate): Promise<SigningIssuer> {
  let cert: x509.X509Certificate;
  let certSpki: Buffer;
  let keySpki: Buffer;
  let pkcs8: ArrayBuffer;
  try {
    cert = new x509.X509Certificate(issuer.certPem);
    certSpki = Buffer.from(cert.publicKey.rawData);
    const priv = createPrivateKey(issuer.keyPem);
    keySpki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
    pkcs8 = x509.PemConverter.decodeFirst(issuer.keyPem);
  } catch (cause) {
    throw new BulwarkError('internal_error', 'the issuing CA certificate or key cannot be read', {
      cause,
    });
  }
  if (!certSpki.equals(keySpki)) {
    throw new BulwarkError('internal_error', 'the issuing CA key does not match its certificate');
  }
  const key = await globalThis.crypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
  return { cert, key };
}

/** The issuer's Subject Key Identifier, or the RFC 5280 §4.2.1.2 method (1) identifier of its key. */
export async function issuerKeyId(cert: x509.X509Certificate): Promise<string> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return ski.keyId;
  return Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
}

/**
 * The `name` of a WebCrypto algorithm object from x509 (for an algorithm it does not know, the OID).
 * x509's typings name DOM globals (`Algorithm`) that a Node-only build lacks, hence the narrowing.
 */
export function algorithmName(alg: unknown): string {
  const name: unknown =
    typeof alg === 'object' && alg !== null ? (alg as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : 'unknown';
}

// Shared fixtures for the pki tests: an OpenSSL runner, temp dirs, CSRs made by OpenSSL and by
// WebCrypto directly, and a root + issuing CA pair.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { spawnSync } from 'node:child_process';
import { createHash, type webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { CertificateAuthority, NewCa } from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';

/** The real OpenSSL binary the interop checks run against. */
export const OPENSSL = '/usr/bin/openssl';

/** A fresh temp dir, removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-pki-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs openssl in `cwd`; returns its exit status and both outputs. */
export function openssl(cwd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd, encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Writes files into `dir` (name → contents). */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** A CSR made by `openssl req -new -newkey <newkey...> -nodes -subj <subj>`, with its key. */
export function opensslCsr(
  dir: string,
  newkey: string[],
  subj = '/CN=x',
): { csrPem: string; keyPem: string } {
  const r = openssl(dir, [
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-subj',
    subj,
    '-keyout',
    'k.pem',
    '-out',
    'r.pem',
  ]);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.out}`);
  return {
    csrPem: readFileSync(join(dir, 'r.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'k.pem'), 'utf8'),
  };
}

/** A CSR made with WebCrypto directly (the device-side path, without the sdk), with its PKCS#8 key. */
export async function webCryptoCsr(
  alg: { name: 'ECDSA'; namedCurve: 'P-256' | 'P-384' } | { name: 'Ed25519' },
  commonName = 'device',
): Promise<{ csrPem: string; keyPem: string }> {
  const crypto = globalThis.crypto;
  const keys = (await crypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const hash = alg.name === 'ECDSA' && alg.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256';
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: `CN=${commonName}`,
      keys,
      signingAlgorithm: alg.name === 'ECDSA' ? { name: 'ECDSA', hash } : alg,
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csrPem: csr.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** A root CA and an issuing CA under it, as the hub makes them for an organization. */
export async function caPair(
  ca: CertificateAuthority,
  orgId = 'org-1',
): Promise<{ root: NewCa; issuing: NewCa; chainPem: string }> {
  const root = await ca.createRoot({
    commonName: 'Bulwark Root CA',
    organization: orgId,
    validityDays: 3650,
  });
  const issuing = await ca.createIssuing(root, {
    commonName: 'Bulwark Issuing CA',
    organization: orgId,
    validityDays: 1825,
  });
  return { root, issuing, chainPem: issuing.certPem + root.certPem };
}

/** SHA-256 hex. */
export function sha256(data: Uint8Array | ArrayBuffer): string {
  return createHash('sha256')
    .update(data instanceof Uint8Array ? data : new Uint8Array(data))
    .digest('hex');
}

/** Asserts that `p` rejects with a BulwarkError of `code` whose message matches `message`. */
export async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<BulwarkError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof BulwarkError)) throw err;
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    if (message && !message.test(err.message))
      throw new Error(`message "${err.message}" does not match ${String(message)}`);
    return err;
  }
  throw new Error(`expected a ${code} rejection, but it resolved`);
}

export { x509 };

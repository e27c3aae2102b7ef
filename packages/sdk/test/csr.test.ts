import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { generateDeviceKeyAndCsr } from '../src/csr.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-sdk-csr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `openssl req <args> -in <csr>` on a CSR and returns the exit status with both outputs. */
function opensslReq(csrPem: string, args: string[]): { status: number; out: string } {
  const file = join(dir, 'req.pem');
  writeFileSync(file, csrPem);
  const r = spawnSync('/usr/bin/openssl', ['req', '-in', file, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('generateDeviceKeyAndCsr', () => {
  it('makes a P-256 CSR whose self-signature OpenSSL verifies', async () => {
    const { csrPem } = await generateDeviceKeyAndCsr({ commonName: 'sensor-7' });
    assert.match(
      csrPem,
      /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/,
    );
    const r = opensslReq(csrPem, ['-verify', '-noout', '-text']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /verify OK/);
    assert.match(r.out, /Subject: CN ?= ?sensor-7/);
    assert.match(r.out, /NIST CURVE: P-256/);
    assert.match(r.out, /Signature Algorithm: ecdsa-with-SHA256/);
  });

  it('makes a P-384 CSR signed with SHA-384 when asked', async () => {
    const { csrPem } = await generateDeviceKeyAndCsr({ algorithm: 'P-384' });
    const r = opensslReq(csrPem, ['-verify', '-noout', '-text']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /NIST CURVE: P-384/);
    assert.match(r.out, /ecdsa-with-SHA384/);
  });

  it('returns the matching private key as PKCS#8 PEM', async () => {
    const { keyPem, csrPem } = await generateDeviceKeyAndCsr();
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const key = createPrivateKey(keyPem);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const csrPublic = opensslReq(csrPem, ['-pubkey', '-noout']).out;
    assert.ok(createPublicKey(key).equals(createPublicKey(csrPublic)));
  });

  it('takes a fresh key every time', async () => {
    const a = await generateDeviceKeyAndCsr();
    const b = await generateDeviceKeyAndCsr();
    assert.notEqual(a.keyPem, b.keyPem);
  });
});

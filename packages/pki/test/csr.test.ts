import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { createCertificateAuthority } from '@bulwark/pki';
import {
  caPair,
  openssl,
  opensslCsr,
  rejectsWith,
  sha256,
  tempDir,
  webCryptoCsr,
  x509,
} from './helpers.js';

const ca = createCertificateAuthority();

/** The CSR with one bit of its signature flipped (the last octet stays inside the DER INTEGER). */
function tamperSignature(csrPem: string): string {
  const der = new Uint8Array(x509.PemConverter.decodeFirst(csrPem));
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
}

describe('inspectCsr: accepted keys', () => {
  it('accepts an OpenSSL EC P-256 CSR and reports its subject, key and SPKI hash', async () => {
    const dir = tempDir();
    const { csrPem, keyPem } = opensslCsr(
      dir,
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      '/CN=x',
    );
    const info = await ca.inspectCsr(csrPem);
    assert.equal(info.subject, 'CN=x');
    assert.equal(info.keyDescription, 'EC P-256');
    assert.equal(
      info.spkiSha256,
      sha256(createPublicKey(keyPem).export({ type: 'spki', format: 'der' })),
    );
  });

  it('accepts EC P-384 from WebCrypto and EC P-521 from OpenSSL', async () => {
    assert.equal(
      (await ca.inspectCsr((await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-384' })).csrPem))
        .keyDescription,
      'EC P-384',
    );
    const { csrPem } = opensslCsr(tempDir(), [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-521',
    ]);
    assert.equal((await ca.inspectCsr(csrPem)).keyDescription, 'EC P-521');
  });

  it('accepts RSA 2048 and names its size', async () => {
    const { csrPem } = opensslCsr(tempDir(), ['-newkey', 'rsa:2048']);
    assert.equal((await ca.inspectCsr(csrPem)).keyDescription, 'RSA 2048');
  });

  it('accepts Ed25519 from WebCrypto and from OpenSSL', async () => {
    assert.equal(
      (await ca.inspectCsr((await webCryptoCsr({ name: 'Ed25519' })).csrPem)).keyDescription,
      'Ed25519',
    );
    const { csrPem } = opensslCsr(tempDir(), ['-newkey', 'ed25519']);
    assert.equal((await ca.inspectCsr(csrPem)).keyDescription, 'Ed25519');
  });

  it('accepts bare base64 DER as well as PEM', async () => {
    const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const b64 = Buffer.from(x509.PemConverter.decodeFirst(csrPem)).toString('base64');
    assert.deepEqual(await ca.inspectCsr(b64), await ca.inspectCsr(csrPem));
  });
});

describe('inspectCsr: refused keys', () => {
  it('refuses RSA 1024 as key_too_weak, stating the bits and the minimum', async () => {
    const { csrPem } = opensslCsr(tempDir(), ['-newkey', 'rsa:1024']);
    await rejectsWith(ca.inspectCsr(csrPem), 'key_too_weak', /1024 bits.*minimum is 2048/);
  });

  it('refuses secp256k1 and brainpool curves as key_unsupported, naming the curve', async () => {
    const k1 = opensslCsr(tempDir(), ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
    await rejectsWith(ca.inspectCsr(k1.csrPem), 'key_unsupported', /secp256k1/);
    const bp = opensslCsr(tempDir(), [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:brainpoolP256r1',
    ]);
    await rejectsWith(ca.inspectCsr(bp.csrPem), 'key_unsupported', /brainpoolP256r1/);
  });

  it('refuses DSA as key_unsupported, naming the algorithm', async () => {
    const dir = tempDir();
    const params = openssl(dir, [
      'genpkey',
      '-genparam',
      '-algorithm',
      'DSA',
      '-pkeyopt',
      'dsa_paramgen_bits:1024',
      '-out',
      'dsa.pem',
    ]);
    assert.equal(params.status, 0, params.out);
    const { csrPem } = opensslCsr(dir, ['-newkey', 'dsa:dsa.pem']);
    await rejectsWith(ca.inspectCsr(csrPem), 'key_unsupported', /DSA/);
  });
});

describe('inspectCsr: refused requests', () => {
  it('refuses a CSR whose signature was tampered with as csr_signature_invalid', async () => {
    const fromOpenssl = opensslCsr(tempDir(), [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
    ]);
    await rejectsWith(ca.inspectCsr(tamperSignature(fromOpenssl.csrPem)), 'csr_signature_invalid');
    const fromWebCrypto = await webCryptoCsr({ name: 'Ed25519' });
    await rejectsWith(
      ca.inspectCsr(tamperSignature(fromWebCrypto.csrPem)),
      'csr_signature_invalid',
    );
  });

  it('refuses a CSR whose subject was changed after signing as csr_signature_invalid', async () => {
    const { csrPem } = opensslCsr(
      tempDir(),
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      '/CN=aaaa',
    );
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    const at = der.indexOf('aaaa');
    der.write('bbbb', at);
    await rejectsWith(ca.inspectCsr(der.toString('base64')), 'csr_signature_invalid');
  });

  it('refuses garbage as csr_malformed and says what was wrong', async () => {
    await rejectsWith(ca.inspectCsr(''), 'csr_malformed', /empty/);
    await rejectsWith(ca.inspectCsr('hello, world!'), 'csr_malformed', /neither PEM nor base64/);
    await rejectsWith(
      ca.inspectCsr(randomBytes(200).toString('base64')),
      'csr_malformed',
      /PKCS#10/,
    );
    await rejectsWith(ca.inspectCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA'), 'csr_malformed');
    await rejectsWith(ca.inspectCsr('x'.repeat(70_000)), 'csr_malformed', /larger than/);
  });

  it('refuses a certificate passed where a CSR is expected', async () => {
    const { root } = await caPair(ca);
    await rejectsWith(ca.inspectCsr(root.certPem), 'csr_malformed', /CERTIFICATE REQUEST/);
    const der = Buffer.from(x509.PemConverter.decodeFirst(root.certPem)).toString('base64');
    await rejectsWith(ca.inspectCsr(der), 'csr_malformed');
  });
});

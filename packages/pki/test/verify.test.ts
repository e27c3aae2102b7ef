import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCertificateAuthority } from '@bulwark/pki';
import { caPair, rejectsWith, sha256, webCryptoCsr, x509 } from './helpers.js';

const ca = createCertificateAuthority();
const DEVICE = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const ORG = '0190a1b2-0000-7000-8000-00000000000a';
const NOW = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;

async function setup() {
  const pair = await caPair(ca, ORG);
  const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
  const issued = await ca.issueDeviceCertificate(pair.issuing, {
    csrPem,
    deviceId: DEVICE,
    orgId: ORG,
    validityDays: 30,
    now: NOW,
  });
  return { ...pair, issued };
}

describe('verifyClientCertificate', () => {
  it('accepts a good device certificate and returns what it says', async () => {
    const { issuing, issued } = await setup();
    const v = await ca.verifyClientCertificate(issued.certPem, issuing.certPem, NOW);
    assert.deepEqual(v, {
      serial: issued.serial,
      deviceId: DEVICE,
      orgId: ORG,
      fingerprint: issued.fingerprint,
      spkiSha256: issued.spkiSha256,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    });
  });

  it('accepts DER, including a Node Buffer that is a view into a larger buffer', async () => {
    const { issuing, issued } = await setup();
    const der = Buffer.from(x509.PemConverter.decodeFirst(issued.certPem));
    const pooled = Buffer.concat([Buffer.alloc(7), der, Buffer.alloc(5)]).subarray(
      7,
      7 + der.length,
    );
    assert.equal(
      (await ca.verifyClientCertificate(pooled, issuing.certPem, NOW)).fingerprint,
      sha256(der),
    );
    assert.equal(
      (await ca.verifyClientCertificate(new Uint8Array(der), issuing.certPem, NOW)).serial,
      issued.serial,
    );
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    const { issuing, issued } = await setup();
    await rejectsWith(
      ca.verifyClientCertificate(issued.certPem, issuing.certPem, issued.notAfter + 1000),
      'certificate_expired',
      /^expired/,
    );
    await rejectsWith(
      ca.verifyClientCertificate(issued.certPem, issuing.certPem, issued.notBefore - DAY),
      'certificate_expired',
      /^not yet valid/,
    );
    // Within the 5-minute backdating the certificate is already valid.
    await ca.verifyClientCertificate(issued.certPem, issuing.certPem, NOW - 60_000);
  });

  it("refuses a certificate from another organization's CA as wrong issuer", async () => {
    const { issued } = await setup();
    const other = await caPair(ca, 'another-org');
    await rejectsWith(
      ca.verifyClientCertificate(issued.certPem, other.issuing.certPem, NOW),
      'certificate_invalid',
      /^wrong issuer/,
    );
  });

  it('refuses a certificate whose signature is not from the issuer, even under the same name', async () => {
    const { issued } = await setup();
    const impostor = await caPair(ca, ORG);
    await rejectsWith(
      ca.verifyClientCertificate(issued.certPem, impostor.issuing.certPem, NOW),
      'certificate_invalid',
      /^bad signature/,
    );
  });

  it('refuses a server certificate and a CA certificate as not device certificates', async () => {
    const { root, issuing } = await setup();
    const server = await ca.issueServerCertificate(issuing, {
      commonName: 'hub',
      dnsNames: ['localhost'],
      ipAddresses: [],
      validityDays: 1,
      now: NOW,
    });
    await rejectsWith(
      ca.verifyClientCertificate(server.certPem, issuing.certPem, NOW),
      'certificate_invalid',
      /^not a device certificate/,
    );
    await rejectsWith(
      ca.verifyClientCertificate(issuing.certPem, root.certPem, NOW),
      'certificate_invalid',
      /^not a device certificate: it is a CA/,
    );
  });

  it('refuses a client certificate without the Bulwark device URN', async () => {
    const { issuing } = await setup();
    const signer = await crypto.subtle.importKey(
      'pkcs8',
      x509.PemConverter.decodeFirst(issuing.keyPem),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const cert = await x509.X509CertificateGenerator.create({
      subject: 'CN=someone',
      issuer: new x509.X509Certificate(issuing.certPem).subjectName,
      publicKey: keys.publicKey,
      signingKey: signer,
      notBefore: new Date(NOW - DAY),
      notAfter: new Date(NOW + DAY),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    await rejectsWith(
      ca.verifyClientCertificate(cert.toString('pem'), issuing.certPem, NOW),
      'certificate_invalid',
      /urn:bulwark:device:/,
    );
  });

  it('refuses garbage', async () => {
    const { issuing } = await setup();
    await rejectsWith(
      ca.verifyClientCertificate('not a certificate', issuing.certPem, NOW),
      'certificate_invalid',
      /could not be parsed/,
    );
    await rejectsWith(
      ca.verifyClientCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01]), issuing.certPem, NOW),
      'certificate_invalid',
    );
  });
});

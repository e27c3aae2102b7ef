import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createCertificateAuthority } from '@bulwark/pki';
import {
  caPair,
  openssl,
  opensslCsr,
  rejectsWith,
  sha256,
  tempDir,
  webCryptoCsr,
  writeFiles,
  x509,
} from './helpers.js';

const ca = createCertificateAuthority();
const DEVICE = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const ORG = '0190a1b2-0000-7000-8000-00000000000a';
const NOW = Date.UTC(2030, 0, 1);

describe('device certificates', () => {
  it('certifies the CSR key with CN=deviceId, O=orgId and the device and org URNs', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr(
      { name: 'ECDSA', namedCurve: 'P-256' },
      'whatever-the-device-says',
    );
    const info = await ca.inspectCsr(csrPem);
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 90,
      now: NOW,
    });
    const cert = new x509.X509Certificate(issued.certPem);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);

    assert.equal(cert.subject, `CN=${DEVICE}, O=${ORG}`);
    assert.equal(cert.issuer, new x509.X509Certificate(issuing.certPem).subject);
    assert.ok(Buffer.from(cert.publicKey.rawData).equals(Buffer.from(csr.publicKey.rawData)));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [
      { type: 'url', value: `urn:bulwark:device:${DEVICE}` },
      { type: 'url', value: `urn:bulwark:org:${ORG}` },
    ]);
    assert.equal(issued.serial, cert.serialNumber);
    assert.equal(issued.fingerprint, sha256(cert.rawData));
    assert.equal(issued.spkiSha256, info.spkiSha256);
  });

  it('makes an end entity for client and local-port server auth: CA:false (critical), digitalSignature+keyAgreement, clientAuth+serverAuth, SKI, AKI', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 90,
      now: NOW,
    });
    const cert = new x509.X509Certificate(issued.certPem);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.critical);
    assert.equal(bc.ca, false);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth],
    );
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      new x509.X509Certificate(issuing.certPem).getExtension(x509.SubjectKeyIdentifierExtension)
        ?.keyId,
    );
    assert.deepEqual(cert.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
  });

  it('gives an Ed25519 key digitalSignature only (no key agreement with a signature key)', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr({ name: 'Ed25519' });
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 90,
      now: NOW,
    });
    const ku = new x509.X509Certificate(issued.certPem).getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature);
  });

  it('backdates notBefore by 5 minutes for clock skew and sets notAfter validityDays ahead', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const now = Date.now();
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 30,
      now,
    });
    const cert = new x509.X509Certificate(issued.certPem);
    const floorSec = (ms: number) => Math.floor(ms / 1000) * 1000;
    assert.equal(issued.notBefore, floorSec(now - 5 * 60_000));
    assert.equal(issued.notAfter, floorSec(now + 30 * 86_400_000));
    assert.equal(cert.notBefore.getTime(), issued.notBefore);
    assert.equal(cert.notAfter.getTime(), issued.notAfter);
  });

  it('checks the CSR again: a tampered CSR or a weak key gets no certificate', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const der = new Uint8Array(x509.PemConverter.decodeFirst(csrPem));
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 1;
    const req = { deviceId: DEVICE, orgId: ORG, validityDays: 1, now: NOW };
    await rejectsWith(
      ca.issueDeviceCertificate(issuing, { ...req, csrPem: Buffer.from(der).toString('base64') }),
      'csr_signature_invalid',
    );
    const weak = opensslCsr(tempDir(), ['-newkey', 'rsa:1024']);
    await rejectsWith(
      ca.issueDeviceCertificate(issuing, { ...req, csrPem: weak.csrPem }),
      'key_too_weak',
    );
  });

  it('refuses ids that cannot stand in a URN unescaped', async () => {
    const { issuing } = await caPair(ca, ORG);
    const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const req = { csrPem, validityDays: 1, now: NOW };
    await rejectsWith(
      ca.issueDeviceCertificate(issuing, { ...req, deviceId: 'a b', orgId: ORG }),
      'validation_failed',
      /deviceId/,
    );
    await rejectsWith(
      ca.issueDeviceCertificate(issuing, { ...req, deviceId: DEVICE, orgId: 'x,O=evil' }),
      'validation_failed',
      /orgId/,
    );
  });

  it('verifies with `openssl verify` against the issuing + root chain, for client auth', async () => {
    const { issuing, chainPem } = await caPair(ca, ORG);
    const { csrPem } = opensslCsr(
      tempDir(),
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      '/CN=x',
    );
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 30,
      now: Date.now(),
    });
    const dir = tempDir();
    writeFiles(dir, { 'chain.pem': chainPem, 'cert.pem': issued.certPem });
    const r = openssl(dir, [
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      'chain.pem',
      'cert.pem',
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /cert\.pem: OK/);
  });

  it('completes a mutual-TLS handshake: hub server certificate, device key + certificate', async () => {
    const { issuing, chainPem } = await caPair(ca, ORG);
    const now = Date.now();
    const server = await ca.issueServerCertificate(issuing, {
      commonName: 'hub',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      validityDays: 1,
      now,
    });
    const device = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
    const issued = await ca.issueDeviceCertificate(issuing, {
      csrPem: device.csrPem,
      deviceId: DEVICE,
      orgId: ORG,
      validityDays: 1,
      now,
    });

    const tls = createServer({
      key: server.keyPem,
      cert: server.certPem,
      ca: chainPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const accepted = once(tls, 'secureConnection') as Promise<[TLSSocket]>;
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      const { port } = tls.address() as AddressInfo;
      const client = connect({
        host: '127.0.0.1',
        port,
        ca: chainPem,
        key: device.keyPem,
        cert: issued.certPem,
      });
      await once(client, 'secureConnect');
      assert.ok(client.authorized, String(client.authorizationError));
      const [peer] = await accepted;
      assert.ok(peer.authorized);
      assert.equal(peer.getPeerCertificate().subject.CN, DEVICE);
      assert.equal(peer.getPeerCertificate().serialNumber.toLowerCase(), issued.serial);
      client.end();
      peer.end();
    } finally {
      tls.close();
    }
  });
});

describe('server certificates', () => {
  it('carries dNSName and iPAddress SANs (IPv4 and IPv6), serverAuth, CA:false and a fresh P-256 key', async () => {
    const { issuing, chainPem } = await caPair(ca, ORG);
    const s = await ca.issueServerCertificate(issuing, {
      commonName: 'hub.example',
      dnsNames: ['hub.example', '*.hub.example', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1', '2001:db8::7'],
      validityDays: 10,
      now: NOW,
    });
    const cert = new x509.X509Certificate(s.certPem);
    assert.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [
      { type: 'dns', value: 'hub.example' },
      { type: 'dns', value: '*.hub.example' },
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'ip', value: '2001:db8::7' },
    ]);
    assert.deepEqual(
      [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth],
    );
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.deepEqual(cert.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
    assert.equal(s.notAfter, cert.notAfter.getTime());
    assert.match(s.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);

    const dir = tempDir();
    writeFiles(dir, { 'chain.pem': chainPem, 'server.pem': s.certPem });
    const r = openssl(dir, [
      'verify',
      '-attime',
      String(NOW / 1000),
      '-purpose',
      'sslserver',
      '-CAfile',
      'chain.pem',
      'server.pem',
    ]);
    assert.equal(r.status, 0, r.out);
    const text = openssl(dir, [
      'x509',
      '-in',
      'server.pem',
      '-noout',
      '-ext',
      'subjectAltName',
    ]).out;
    assert.match(text, /IP Address:0:0:0:0:0:0:0:1/);
  });

  it('refuses names that are not DNS names or IP addresses', async () => {
    const { issuing } = await caPair(ca, ORG);
    const base = { commonName: 'hub', validityDays: 1, now: NOW };
    await rejectsWith(
      ca.issueServerCertificate(issuing, { ...base, dnsNames: ['bad name'], ipAddresses: [] }),
      'validation_failed',
    );
    await rejectsWith(
      ca.issueServerCertificate(issuing, { ...base, dnsNames: [], ipAddresses: ['300.1.1.1'] }),
      'validation_failed',
    );
    await rejectsWith(
      ca.issueServerCertificate(issuing, { ...base, dnsNames: [], ipAddresses: [] }),
      'validation_failed',
    );
  });
});

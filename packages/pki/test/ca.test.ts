import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createCertificateAuthority } from '@bulwark/pki';
import { caPair, openssl, tempDir, writeFiles, x509 } from './helpers.js';

const ca = createCertificateAuthority();

describe('root and issuing CAs', () => {
  it('makes a self-signed ECDSA P-256 root with CA:true pathLen 1, keyCertSign+cRLSign and an SKI', async () => {
    const root = await ca.createRoot({
      commonName: 'Root',
      organization: 'org-1',
      validityDays: 3650,
    });
    const cert = new x509.X509Certificate(root.certPem);
    assert.equal(cert.subject, 'CN=Root, O=org-1');
    assert.equal(cert.issuer, cert.subject);
    assert.ok(await cert.isSelfSigned());
    assert.deepEqual(cert.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
    assert.deepEqual(cert.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.critical && bc.ca);
    assert.equal(bc.pathLength, 1);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(ku?.critical);
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.equal(root.notAfter, cert.notAfter.getTime());
    assert.ok(Math.abs(root.notAfter - (Date.now() + 3650 * 86_400_000)) < 5_000);
  });

  it('uses 16-octet positive serials, returned exactly as the certificate encodes them', async () => {
    const { root, issuing } = await caPair(ca);
    for (const c of [root, issuing]) {
      assert.match(c.serial, /^[1-7][0-9a-f]{31}$|^0[1-9a-f][0-9a-f]{30}$/);
      assert.equal(new x509.X509Certificate(c.certPem).serialNumber, c.serial);
    }
    assert.notEqual(root.serial, issuing.serial);
  });

  it('signs an issuing CA with the root: CA:true pathLen 0, AKI = root SKI, issuer = root subject', async () => {
    const { root, issuing } = await caPair(ca);
    const rootCert = new x509.X509Certificate(root.certPem);
    const cert = new x509.X509Certificate(issuing.certPem);
    assert.equal(cert.issuer, rootCert.subject);
    assert.ok(await cert.verify({ publicKey: rootCert.publicKey, signatureOnly: true }));
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc?.critical && bc.ca);
    assert.equal(bc.pathLength, 0);
    assert.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      rootCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.ok(issuing.notAfter <= root.notAfter);
  });

  it('exports PKCS#8 PEM keys that Node imports and that match the certificates', async () => {
    const { root, issuing } = await caPair(ca);
    for (const c of [root, issuing]) {
      assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
      const key = createPrivateKey(c.keyPem);
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
      assert.ok(spki.equals(Buffer.from(new x509.X509Certificate(c.certPem).publicKey.rawData)));
    }
  });

  it('keeps names verbatim, even with commas, quotes, backslashes and a leading #', async () => {
    const odd = '#Acme, "Inc" \\ + <ops>';
    const root = await ca.createRoot({ commonName: odd, organization: odd, validityDays: 1 });
    const name = new x509.X509Certificate(root.certPem).subjectName;
    assert.deepEqual(name.getField('CN'), [odd]);
    assert.deepEqual(name.getField('O'), [odd]);
  });

  it('refuses a root key that does not belong to the root certificate', async () => {
    const a = await ca.createRoot({ commonName: 'A', organization: 'o', validityDays: 1 });
    const b = await ca.createRoot({ commonName: 'B', organization: 'o', validityDays: 1 });
    await assert.rejects(
      ca.createIssuing(
        { certPem: a.certPem, keyPem: b.keyPem },
        { commonName: 'I', organization: 'o', validityDays: 1 },
      ),
      /does not match its certificate/,
    );
  });

  it('builds a chain OpenSSL accepts', async () => {
    const { root, issuing } = await caPair(ca);
    const dir = tempDir();
    writeFiles(dir, { 'root.pem': root.certPem, 'issuing.pem': issuing.certPem });
    const r = openssl(dir, ['verify', '-x509_strict', '-CAfile', 'root.pem', 'issuing.pem']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /issuing\.pem: OK/);
  });
});

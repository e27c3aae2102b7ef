import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCertificateAuthority, reasonCode } from '@bulwark/pki';
import {
  caPair,
  openssl,
  rejectsWith,
  tempDir,
  webCryptoCsr,
  writeFiles,
  x509,
} from './helpers.js';

const ca = createCertificateAuthority();
const ORG = 'org-1';
const DAY = 86_400_000;

async function deviceCert(issuing: { certPem: string; keyPem: string }, deviceId: string) {
  const { csrPem } = await webCryptoCsr({ name: 'ECDSA', namedCurve: 'P-256' });
  return ca.issueDeviceCertificate(issuing, {
    csrPem,
    deviceId,
    orgId: ORG,
    validityDays: 30,
    now: Date.now(),
  });
}

describe('CRLs', () => {
  it('maps reason strings to RFC 5280 codes, unknown ones to unspecified', () => {
    assert.equal(reasonCode('unspecified'), 0);
    assert.equal(reasonCode('keyCompromise'), 1);
    assert.equal(reasonCode('affiliationChanged'), 3);
    assert.equal(reasonCode('superseded'), 4);
    assert.equal(reasonCode('cessationOfOperation'), 5);
    assert.equal(reasonCode('toString'), 0);
    assert.equal(reasonCode('whatever'), 0);
  });

  it('is a v2 CRL signed by the issuer with CRL number, AKI, thisUpdate/nextUpdate and one entry per serial', async () => {
    const { issuing } = await caPair(ca, ORG);
    const a = await deviceCert(issuing, 'dev-a');
    const b = await deviceCert(issuing, 'dev-b');
    const now = Date.UTC(2030, 0, 1);
    const pem = await ca.createCrl(issuing, {
      entries: [
        { serial: a.serial, revokedAt: now - DAY, reason: 'keyCompromise' },
        { serial: b.serial, revokedAt: now - 2 * DAY, reason: 'no-such-reason' },
      ],
      crlNumber: 42,
      thisUpdate: now,
      nextUpdate: now + DAY,
    });
    assert.match(pem, /^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n$/);
    const crl = new x509.X509Crl(pem);
    const issuer = new x509.X509Certificate(issuing.certPem);
    assert.ok(await crl.verify({ publicKey: issuer }));
    assert.equal(crl.issuer, issuer.subject);
    assert.equal(crl.thisUpdate.getTime(), now);
    assert.equal(crl.nextUpdate?.getTime(), now + DAY);
    assert.equal(crl.entries.length, 2);
    assert.equal(crl.findRevoked(a.serial)?.reason, x509.X509CrlReason.keyCompromise);
    assert.equal(crl.findRevoked(a.serial)?.revocationDate.getTime(), now - DAY);
    assert.equal(crl.findRevoked(b.serial)?.reason, x509.X509CrlReason.unspecified);
    assert.equal(
      crl.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );

    const dir = tempDir();
    writeFiles(dir, { 'crl.pem': pem });
    const text = openssl(dir, ['crl', '-in', 'crl.pem', '-noout', '-text']);
    assert.equal(text.status, 0, text.out);
    assert.match(text.out, /Version 2/);
    assert.match(text.out, /X509v3 CRL Number:\s+42/);
    assert.match(text.out, /X509v3 Authority Key Identifier/);
    assert.match(
      text.out,
      new RegExp(
        `Serial Number: ${a.serial}\\s+Revocation Date[^\\n]+\\n\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
        'i',
      ),
    );
    assert.match(text.out, new RegExp(`Serial Number: ${b.serial}[\\s\\S]+?Unspecified`, 'i'));
  });

  it('makes `openssl verify -crl_check` refuse a revoked certificate and accept the others', async () => {
    const { issuing, chainPem } = await caPair(ca, ORG);
    const revoked = await deviceCert(issuing, 'dev-revoked');
    const good = await deviceCert(issuing, 'dev-good');
    const now = Date.now();
    const crl = await ca.createCrl(issuing, {
      entries: [{ serial: revoked.serial, revokedAt: now - 1000, reason: 'keyCompromise' }],
      crlNumber: 1,
      thisUpdate: now - 60_000,
      nextUpdate: now + DAY,
    });
    const dir = tempDir();
    writeFiles(dir, {
      'chain.pem': chainPem,
      'crl.pem': crl,
      'revoked.pem': revoked.certPem,
      'good.pem': good.certPem,
    });
    const bad = openssl(dir, [
      'verify',
      '-crl_check',
      '-CRLfile',
      'crl.pem',
      '-CAfile',
      'chain.pem',
      'revoked.pem',
    ]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /certificate revoked/);
    const ok = openssl(dir, [
      'verify',
      '-crl_check',
      '-CRLfile',
      'crl.pem',
      '-CAfile',
      'chain.pem',
      'good.pem',
    ]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /good\.pem: OK/);
  });

  it('makes an empty CRL that OpenSSL reads', async () => {
    const { issuing } = await caPair(ca, ORG);
    const now = Date.now();
    const pem = await ca.createCrl(issuing, {
      entries: [],
      crlNumber: 0,
      thisUpdate: now,
      nextUpdate: now + DAY,
    });
    const dir = tempDir();
    writeFiles(dir, { 'crl.pem': pem, 'issuing.pem': issuing.certPem });
    const r = openssl(dir, ['crl', '-in', 'crl.pem', '-noout', '-text', '-CAfile', 'issuing.pem']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /No Revoked Certificates/);
    assert.match(r.out, /verify OK/);
  });

  it('refuses a CRL number that is not a non-negative integer', async () => {
    const { issuing } = await caPair(ca, ORG);
    await rejectsWith(
      ca.createCrl(issuing, { entries: [], crlNumber: -1, thisUpdate: 0, nextUpdate: 1 }),
      'validation_failed',
    );
  });
});

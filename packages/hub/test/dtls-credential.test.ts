/**
 * The certificate DTLS serves (decision 0041, 2026-12-07): the hub's TLS certificate when its key
 * is ECDSA P-256, else a P-256 one from the hub's CA; the self-signed root is left out.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtlsServerCredential } from '../src/dtls-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-dtls-cred-'));
/** A self-signed certificate and its key, made by openssl with `newkey` (e.g. `ec`, `rsa:2048`). */
function selfSigned(name: string, newkey: string[]): { cert: string; key: string } {
  const [cert, key] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...newkey,
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const config = { publicNames: [], httpHost: '127.0.0.1' };

describe('the certificate DTLS serves', () => {
  const hubMade = selfSigned('hub-made', P256);
  const root = selfSigned('root', P256);
  const pki = {
    issued: 0,
    issueServerCertificate: async () => {
      pki.issued += 1;
      return { certPem: hubMade.cert, keyPem: hubMade.key } as never;
    },
    hubCaPem: async () => root.cert,
  };

  it('reuses a P-256 TLS certificate and leaves its self-signed root out of the chain', async () => {
    const ec = selfSigned('ec', P256);
    const c = await dtlsServerCredential({ key: ec.key, cert: ec.cert + root.cert }, config, pki);
    assert.equal(c.chain.length, 1);
    assert.equal(new X509Certificate(c.chain[0]!).subject, 'CN=ec');
    assert.equal(c.key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(pki.issued, 0);
  });

  it('an RSA TLS certificate (an operator’s --tls-cert): a P-256 one from the hub CA instead', async () => {
    const rsa = selfSigned('rsa', ['-newkey', 'rsa:2048']);
    const c = await dtlsServerCredential({ key: rsa.key, cert: rsa.cert }, config, pki);
    assert.equal(pki.issued, 1);
    assert.equal(c.key.asymmetricKeyType, 'ec');
    assert.equal(new X509Certificate(c.chain[0]!).subject, 'CN=hub-made');
    rmSync(dir, { recursive: true, force: true });
  });
});

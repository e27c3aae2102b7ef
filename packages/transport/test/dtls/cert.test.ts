/**
 * The DTLS server's certificate handshake (ECDHE-ECDSA, decision 0041 2026-12-07) against OpenSSL's
 * own DTLS client (`openssl s_client -dtls1_2`): each certificate suite, the server certificate
 * verified by the client, the client certificate proven and judged, and the refusals.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startDtlsServer,
  type CertificateVerdict,
  type DtlsAuthFailure,
  type DtlsServer,
  type DtlsSession,
} from '../../src/dtls/index.js';
import { encodeCertificate } from '../../src/dtls/ecdhe.js';
import { certificateVerifyExchange } from './cert-client.js';
import { makePki, opensslPresent as present, sClient as sClientOf } from './s-client.js';

/** The certificate exchange up to a CertificateVerify signed with `signer`; the alert, if any. */
const forgedCertificateVerify = async (
  port: number,
  certDer: Buffer,
  signer: string,
): Promise<number | undefined> =>
  (await certificateVerifyExchange(port, { certificate: encodeCertificate([certDer]), signer }))
    .alert;

const dir = mkdtempSync(join(tmpdir(), 'bulwark-dtls-cert-'));
const f = (n: string): string => join(dir, n);
/** s_client with the test CA, verifying our certificate. */
const sClient = (port: number, extra: string[]): Promise<string> =>
  sClientOf(port, ['-CAfile', f('ca.pem'), '-verify_return_error', '-brief', ...extra]);

describe(
  'DTLS 1.2 certificate handshake against openssl s_client',
  { skip: !present && 'openssl missing' },
  () => {
    let server: DtlsServer;
    const sessions: DtlsSession[] = [];
    const judged: number[] = [];
    const failures: DtlsAuthFailure[] = [];
    let verdict: CertificateVerdict = { ok: true };

    before(async () => {
      makePki(dir);
      server = await startDtlsServer({
        port: 0,
        host: '127.0.0.1',
        psk: async () => undefined,
        onData: (s, d) => {
          sessions.push(s);
          server.send(s.peer, Buffer.concat([Buffer.from('echo:'), d]));
        },
        onAuthFailure: (x) => failures.push(x),
        certificates: {
          credential: {
            chain: [new X509Certificate(readFileSync(f('server.pem'))).raw],
            key: createPrivateKey(readFileSync(f('server.key'))),
          },
          verify: async (chain) => {
            judged.push(chain.length);
            return verdict;
          },
        },
      });
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const client = ['-cert', f('client.pem'), '-key', f('client.key')];
    for (const suite of [
      'ECDHE-ECDSA-AES128-CCM8',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES128-CCM',
    ]) {
      it(`${suite}: both certificates verify and application data goes both ways`, async () => {
        const before = sessions.length;
        const out = await sClient(server.port, ['-cipher', suite, ...client]);
        assert.match(out, new RegExp(`Ciphersuite: ${suite}\\b`));
        assert.match(out, /Verification: OK/); // the client verified our certificate and signature
        assert.match(out, /echo:ping/);
        const s = sessions[before]!;
        const leaf = new X509Certificate(s.certificate![0]!);
        assert.match(leaf.subject, /CN=dev-1/);
        assert.equal(s.identity, '');
      });
    }

    it('a client without a certificate is refused (handshake_failure) and judged not at all', async () => {
      const n = judged.length;
      const out = await sClient(server.port, ['-cipher', 'ECDHE-ECDSA-AES128-CCM8']);
      assert.match(out, /alert handshake failure|alert number 40/);
      assert.doesNotMatch(out, /echo:ping/);
      assert.equal(judged.length, n);
    });

    it('a certificate the judge refuses ends the handshake with its alert; no session', async () => {
      verdict = { ok: false, refusal: 'revoked', reason: 'revoked in the test' };
      try {
        const before = server.stats().handshakesFailed;
        const out = await sClient(server.port, [
          '-cipher',
          'ECDHE-ECDSA-AES128-GCM-SHA256',
          ...client,
        ]);
        assert.match(out, /certificate revoked|alert number 44/);
        assert.doesNotMatch(out, /echo:ping/);
        assert.equal(server.stats().handshakesFailed, before + 1);
        // The judge reports its own refusals (admission); the server does not count them again.
        assert.equal(failures.length, 0);
      } finally {
        verdict = { ok: true };
      }
    });

    it('a client that offers no P-256 cannot use a certificate suite (handshake_failure)', async () => {
      const out = await sClient(server.port, [
        '-cipher',
        'ECDHE-ECDSA-AES128-CCM8',
        '-curves',
        'X25519',
        ...client,
      ]);
      assert.match(out, /alert handshake failure|alert number 40/);
    });

    it('a CertificateVerify not made with the certificate’s key: decrypt_error, reported as a wrong key, never judged', async () => {
      const n = judged.length;
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const der = new X509Certificate(readFileSync(f('client.pem'))).raw;
      const pem = other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      assert.equal(await forgedCertificateVerify(server.port, der, pem), 51);
      assert.equal(judged.length, n);
      assert.equal(failures.length, 1);
      assert.equal(failures[0]!.reason, 'wrong_key');
      assert.deepEqual(failures[0]!.certificate, der);
      // The same exchange signed with the certificate's own key reaches the judge (the test
      // client stops there: no Finished follows, so no alert either).
      const own = readFileSync(f('client.key'), 'utf8');
      assert.equal(await forgedCertificateVerify(server.port, der, own), undefined);
      assert.equal(judged.length, n + 1);
      assert.equal(failures.length, 1);
    });
  },
);

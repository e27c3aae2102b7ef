/**
 * Session resumption (RFC 5246 §7.3, decision 0041 2026-12-07) against OpenSSL's DTLS client:
 * `-sess_out` after a full handshake, `-sess_in` for the abbreviated one, with PSK and with a
 * certificate; and the refusals: a replaced PSK or a revoked certificate does not come back by
 * resuming.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startDtlsServer,
  type CertificateVerdict,
  type DtlsServer,
  type DtlsSession,
  type PskEntry,
} from '../../src/dtls/index.js';
import { makePki, opensslPresent, sClient } from './s-client.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-dtls-resume-'));
const f = (n: string): string => join(dir, n);

describe(
  'DTLS 1.2 session resumption against openssl s_client',
  { skip: !opensslPresent && 'openssl missing' },
  () => {
    let server: DtlsServer;
    const sessions: DtlsSession[] = [];
    const judged: string[] = [];
    let psk: PskEntry | undefined;
    let verdict: CertificateVerdict = { ok: true };

    before(async () => {
      makePki(dir);
      server = await startDtlsServer({
        port: 0,
        host: '127.0.0.1',
        psk: async (id) => (id === 'dev-1' ? psk : undefined),
        onData: (s, d) => {
          sessions.push(s);
          server.send(s.peer, Buffer.concat([Buffer.from('echo:'), d]));
        },
        certificates: {
          credential: {
            chain: [new X509Certificate(readFileSync(f('server.pem'))).raw],
            key: createPrivateKey(readFileSync(f('server.key'))),
          },
          verify: async (chain) => {
            judged.push(new X509Certificate(chain[0]!).subject);
            return verdict;
          },
        },
      });
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const pskArgs = (key: Buffer, sess: string): string[] => [
      '-psk_identity',
      'dev-1',
      '-psk',
      key.toString('hex'),
      '-cipher',
      'PSK-AES128-CCM8',
      ...(sess.startsWith('in:') ? ['-sess_in', f(sess.slice(3))] : ['-sess_out', f(sess)]),
    ];

    it('PSK: a full handshake, then an abbreviated one resuming it (Reused), counted apart', async () => {
      const key = randomBytes(16);
      psk = { key, ref: 'v1' };
      const s0 = server.stats();
      const full = await sClient(server.port, pskArgs(key, 'psk.pem'));
      assert.match(full, /New, TLSv1\.2, Cipher is PSK-AES128-CCM8/);
      assert.match(full, /echo:ping/);
      const resumed = await sClient(server.port, pskArgs(key, 'in:psk.pem'));
      assert.match(resumed, /Reused, TLSv1\.2, Cipher is PSK-AES128-CCM8/);
      assert.match(resumed, /echo:ping/); // the resumed keys carry data both ways
      const s1 = server.stats();
      assert.equal(s1.handshakesCompleted - s0.handshakesCompleted, 2);
      assert.equal(s1.handshakesResumed - s0.handshakesResumed, 1);
      const s = sessions.at(-1)!;
      assert.equal(s.identity, 'dev-1');
      assert.equal(s.pskRef, 'v1');
    });

    it('PSK replaced: the old session is not resumed; the old key then fails, the new key does a full handshake', async () => {
      const old = psk!.key;
      const key = randomBytes(16);
      psk = { key, ref: 'v2' };
      const s0 = server.stats();
      const stale = await sClient(server.port, pskArgs(old, 'in:psk.pem'));
      assert.doesNotMatch(stale, /Reused/);
      assert.doesNotMatch(stale, /echo:ping/);
      const fresh = await sClient(server.port, pskArgs(key, 'in:psk.pem'));
      assert.doesNotMatch(fresh, /Reused/);
      assert.match(fresh, /New, TLSv1\.2/);
      assert.match(fresh, /echo:ping/);
      assert.equal(sessions.at(-1)!.pskRef, 'v2');
      const s1 = server.stats();
      assert.equal(s1.handshakesResumed, s0.handshakesResumed);
      assert.equal(s1.handshakesFailed - s0.handshakesFailed, 1);
    });

    it('PSK removed (device quarantined or decommissioned): not resumed, the handshake is refused', async () => {
      const key = psk!.key;
      await sClient(server.port, pskArgs(key, 'psk2.pem'));
      psk = undefined;
      try {
        const out = await sClient(server.port, pskArgs(key, 'in:psk2.pem'));
        assert.doesNotMatch(out, /Reused|echo:ping/);
      } finally {
        psk = { key, ref: 'v2' };
      }
    });

    const certArgs = (sess: string): string[] => [
      '-CAfile',
      f('ca.pem'),
      '-verify_return_error',
      '-cipher',
      'ECDHE-ECDSA-AES128-CCM8',
      '-cert',
      f('client.pem'),
      '-key',
      f('client.key'),
      ...(sess.startsWith('in:') ? ['-sess_in', f(sess.slice(3))] : ['-sess_out', f(sess)]),
    ];

    it('certificate: resumed with its chain, judged again; once revoked, refused with its alert', async () => {
      const full = await sClient(server.port, certArgs('cert.pem'));
      assert.match(full, /New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-CCM8/);
      const n = judged.length;
      const resumed = await sClient(server.port, certArgs('in:cert.pem'));
      assert.match(resumed, /Reused, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-CCM8/);
      assert.match(resumed, /echo:ping/);
      assert.equal(judged.length, n + 1); // the admission judged the certificate again
      const s = sessions.at(-1)!;
      assert.match(new X509Certificate(s.certificate![0]!).subject, /CN=dev-1/);
      assert.equal(s.identity, '');
      verdict = { ok: false, refusal: 'revoked', reason: 'revoked in the test' };
      try {
        const before = server.stats();
        const out = await sClient(server.port, certArgs('in:cert.pem'));
        assert.doesNotMatch(out, /Reused|echo:ping/);
        assert.match(out, /certificate revoked|alert number 44/);
        assert.equal(server.stats().handshakesResumed, before.handshakesResumed);
      } finally {
        verdict = { ok: true };
      }
      // The refusal forgot the session: with the certificate accepted again, a full handshake.
      const again = await sClient(server.port, certArgs('in:cert.pem'));
      assert.match(again, /New, TLSv1\.2/);
    });
  },
);

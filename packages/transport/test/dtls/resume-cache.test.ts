/**
 * The session cache's bounds (resume.ts) and what a resumption cannot skip: the cookie exchange,
 * extended master secret (RFC 7627 §5.3). The OpenSSL interop is resume.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { startDtlsServer, type DtlsAuthFailure } from '../../src/dtls/index.js';
import { parseRecords } from '../../src/dtls/record.js';
import { SessionCache, type ResumableSession } from '../../src/dtls/resume.js';
import { parseFragments } from '../../src/dtls/handshake.js';
import {
  clientHelloBody,
  clientHelloRecord,
  handshake,
  resumeHandshake,
  Udp,
} from './raw-client.js';

const session = (createdAt: number): ResumableSession => ({
  master: randomBytes(48),
  suite: 0xc0a8,
  identity: 'dev-1',
  pskRef: 'v1',
  certificate: undefined,
  rawPublicKey: undefined,
  createdAt,
});

describe('DTLS session cache', () => {
  it('evicts the least recently used past its bound and forgets a session past its lifetime', () => {
    let t = 0;
    const c = new SessionCache(2, 1000, () => t);
    const [a, b, d] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    c.put(a, session(0));
    c.put(b, session(0));
    assert.ok(c.get(a)); // a is now the most recently used
    c.put(d, session(0));
    assert.equal(c.size, 2);
    assert.equal(c.get(b), undefined);
    assert.ok(c.get(a) && c.get(d));
    t = 1000; // the lifetime counts from the full handshake; using a session does not renew it
    assert.equal(c.get(a), undefined);
    assert.equal(c.size, 1);
    const off = new SessionCache(0, 1000, () => t);
    off.put(a, session(t));
    assert.equal(off.get(a), undefined);
  });

  it('a session id in a hello without a cookie gets a HelloVerifyRequest and costs no state', async () => {
    const key = randomBytes(16);
    const server = await startDtlsServer({
      port: 0,
      host: '127.0.0.1',
      psk: async (id) => (id === 'dev-1' ? { key, ref: 'v1' } : undefined),
      onData: () => undefined,
    });
    const udp = await new Udp(server.port).open();
    try {
      // Without extended master secret a session is not resumable: no session id.
      const plain = await handshake(server.port, 'dev-1', key);
      plain.close();
      assert.equal(plain.sessionId.length, 0);
      const ems = await handshake(server.port, 'dev-1', key, { ems: true });
      ems.close();
      assert.equal(ems.sessionId.length, 32);
      const random = randomBytes(32);
      // The hello names the EMS session but offers no extended master secret.
      const hello = (cookie?: Buffer): Buffer =>
        clientHelloBody({ random, sessionId: ems.sessionId, ...(cookie ? { cookie } : {}) });
      const hvrs = server.stats().helloVerifyRequests;
      udp.send(clientHelloRecord(hello(), 0, 0));
      const hvr = parseFragments(parseRecords((await udp.next())!)[0]!.fragment)[0]!;
      assert.equal(hvr.msgType, 3); // hello_verify_request
      assert.equal(server.stats().helloVerifyRequests, hvrs + 1);
      assert.equal(server.stats().handshakes, 0);
      // RFC 7627 §5.3: the session had extended master secret, this hello does not: abort (40).
      const cookie = hvr.body.subarray(3, 3 + hvr.body[2]!);
      udp.send(clientHelloRecord(hello(cookie), 1, 1));
      const alert = parseRecords((await udp.next())!)[0]!;
      assert.deepEqual([alert.type, alert.fragment[1]], [21, 40]);
      assert.equal(server.stats().handshakesResumed, 0);
    } finally {
      udp.close();
      await server.close();
    }
  });

  it('an in-process client resumes with data both ways; past the lifetime it is a full handshake', async () => {
    const key = randomBytes(16);
    let t = 1_000_000;
    const failures: DtlsAuthFailure[] = [];
    const server = await startDtlsServer({
      port: 0,
      host: '127.0.0.1',
      now: () => t,
      limits: { sessionLifetimeMs: 60_000 },
      psk: async (id) => (id === 'dev-1' ? { key, ref: 'v1' } : undefined),
      onData: (s, d) => server.send(s.peer, d),
      onAuthFailure: (f) => failures.push(f),
    });
    try {
      const first = await handshake(server.port, 'dev-1', key, { ems: true });
      first.close();
      await resumeHandshake(server.port, first);
      await resumeHandshake(server.port, first); // an id resumes more than once in its lifetime
      assert.equal(server.stats().handshakesResumed, 2);
      // The id without its master secret (it travels in clear): refused, a wrong key for dev-1.
      const failed = server.stats().handshakesFailed;
      await assert.rejects(resumeHandshake(server.port, { ...first, master: randomBytes(48) }));
      for (let i = 0; i < 50 && server.stats().handshakesFailed === failed; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(
        failures.map((f) => [f.identity, f.reason]),
        [['dev-1', 'wrong_key']],
      );
      assert.equal(server.stats().handshakesResumed, 2);
      t += 60_000;
      await assert.rejects(resumeHandshake(server.port, first), /a full handshake/);
      assert.equal(server.stats().handshakesResumed, 2);
    } finally {
      await server.close();
    }
  });
});

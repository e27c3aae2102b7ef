/** The DTLS server on a real UDP socket: handshake, record protection, refusals and bounds. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  startDtlsServer,
  type DtlsAuthFailure,
  type DtlsLimits,
  type DtlsServerOptions,
  type DtlsSession,
} from '../../src/dtls/index.js';
import { parseRecords } from '../../src/dtls/record.js';
import { clientHelloBody, clientHelloRecord, handshake, Udp } from './raw-client.js';

const KEY = randomBytes(16);

async function start(
  limits: Partial<DtlsLimits> = {},
  auth: Pick<DtlsServerOptions, 'retryAfterMs' | 'onAuthFailure'> = {},
) {
  const got: { s: DtlsSession; d: Buffer }[] = [];
  const closed: string[] = [];
  const server = await startDtlsServer({
    port: 0,
    host: '127.0.0.1',
    limits,
    ...auth,
    psk: async (id) => (id === 'dev-1' ? { key: KEY, ref: 'v1' } : undefined),
    onData: (s, d) => {
      got.push({ s, d });
      server.send(s.peer, Buffer.concat([Buffer.from('echo:'), d]));
    },
    onClose: (_s, r) => closed.push(r),
  });
  return { server, got, closed };
}

describe('DTLS 1.2 PSK server', () => {
  for (const [name, o] of [
    ['AES_128_CCM_8', { suite: 0xc0a8 }],
    ['AES_128_CCM', { suite: 0xc0a4 }],
    ['AES_128_CCM_8 with extended master secret', { suite: 0xc0a8, ems: true }],
  ] as const) {
    it(`completes a handshake with ${name} and carries application data both ways`, async () => {
      const { server, got } = await start();
      const c = await handshake(server.port, 'dev-1', KEY, o);
      try {
        c.send(Buffer.from('ping'));
        assert.equal((await c.recv())?.toString(), 'echo:ping');
        assert.equal(got[0]?.s.identity, 'dev-1');
        assert.equal(got[0]?.s.pskRef, 'v1');
        assert.equal(server.stats().sessions, 1);
        assert.equal(server.stats().handshakes, 0);
      } finally {
        c.close();
        await server.close();
      }
    });
  }

  it('drops a replayed record and a record older than the window (RFC 6347 §4.1.2.6)', async () => {
    const { server, got } = await start();
    const c = await handshake(server.port, 'dev-1', KEY);
    try {
      c.send(Buffer.from('a'), 100);
      assert.equal((await c.recv())?.toString(), 'echo:a');
      c.send(Buffer.from('a'), 100); // the same record again
      c.send(Buffer.from('old'), 30); // 70 behind the highest
      c.send(Buffer.from('b'), 99); // inside the window, not seen yet
      assert.equal((await c.recv())?.toString(), 'echo:b');
      assert.equal(await c.recv(300), undefined);
      assert.deepEqual(
        got.map((g) => g.d.toString()),
        ['a', 'b'],
      );
    } finally {
      c.close();
      await server.close();
    }
  });

  it('a wrong key ends in bad_record_mac; an unknown identity in unknown_psk_identity', async () => {
    const { server } = await start();
    try {
      await assert.rejects(handshake(server.port, 'dev-1', randomBytes(16)), /alert 20/);
      await assert.rejects(handshake(server.port, 'nobody', KEY), /alert 115/);
      assert.equal(server.stats().sessions, 0);
      assert.equal(server.stats().handshakes, 0);
      assert.equal(server.stats().handshakesFailed, 2);
    } finally {
      await server.close();
    }
  });

  it('reports credential failures to the layer above and drops hellos of a source it throttles', async () => {
    const failures: DtlsAuthFailure[] = [];
    let throttled = false;
    const { server } = await start(
      {},
      {
        retryAfterMs: (a) => (throttled && a === '127.0.0.1' ? 5000 : 0),
        onAuthFailure: (f) => void failures.push(f),
      },
    );
    try {
      await assert.rejects(handshake(server.port, 'dev-1', randomBytes(16)), /alert 20/);
      await assert.rejects(handshake(server.port, 'nobody', KEY), /alert 115/);
      assert.deepEqual(
        failures.map((f) => [f.identity, f.reason, f.peer.address]),
        [
          ['dev-1', 'wrong_key', '127.0.0.1'],
          ['nobody', 'unknown', '127.0.0.1'],
        ],
      );
      // A refusal that is not about the credential (no common suite) is no auth failure.
      await assert.rejects(handshake(server.port, 'dev-1', KEY, { suite: 0xc02b }), /alert 40/);
      assert.equal(failures.length, 2);
      throttled = true;
      await assert.rejects(handshake(server.port, 'dev-1', KEY), /no HelloVerifyRequest/);
      assert.equal(server.stats().handshakesThrottled, 1);
      assert.equal(server.stats().helloVerifyRequests, 3, 'the throttled hello got no answer');
      throttled = false;
      const c = await handshake(server.port, 'dev-1', KEY);
      c.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a hello without a common suite (handshake_failure) and DTLS 1.0 (protocol_version)', async () => {
    const { server } = await start();
    try {
      await assert.rejects(handshake(server.port, 'dev-1', KEY, { suite: 0xc02b }), /alert 40/);
      const u = await new Udp(server.port).open();
      const random = randomBytes(32);
      u.send(clientHelloRecord(clientHelloBody({ random, version: 0xfeff }), 0, 0));
      const hvr = parseRecords((await u.next())!)[0]!;
      const cookie = hvr.fragment.subarray(15, 15 + hvr.fragment[14]!);
      u.send(clientHelloRecord(clientHelloBody({ random, version: 0xfeff, cookie }), 1, 1));
      const alert = parseRecords((await u.next())!)[0]!;
      assert.deepEqual([alert.type, ...alert.fragment], [21, 2, 70]);
      u.close();
      assert.equal(server.stats().handshakes, 0);
    } finally {
      await server.close();
    }
  });

  it('a new handshake with a valid cookie from the same address replaces the association (§4.2.8)', async () => {
    const { server, closed } = await start();
    try {
      const a = await handshake(server.port, 'dev-1', KEY);
      const localPort = a.udp.sock.address().port;
      a.close();
      // The same client restarted on the same port (Wakaama does this after ~40 s idle).
      const b = await handshake(server.port, 'dev-1', KEY, { localPort });
      try {
        b.send(Buffer.from('again'));
        assert.equal((await b.recv())?.toString(), 'echo:again');
        assert.equal(server.stats().sessions, 1);
        assert.deepEqual(closed, ['the peer started a new handshake']);
      } finally {
        b.close();
      }
    } finally {
      await server.close();
    }
  });

  it('a flood of ClientHellos from many sources keeps no state: only stateless HelloVerifyRequests', async () => {
    const { server } = await start();
    const senders = await Promise.all(
      Array.from({ length: 40 }, () => new Udp(server.port).open()),
    );
    try {
      globalThis.gc?.();
      const before = process.memoryUsage().heapUsed;
      const N = 250; // per sender: 10,000 hellos in all
      for (let i = 0; i < N; i++) {
        for (const s of senders) {
          // Each hello as a spoofed source would send it: a fresh random, a made-up cookie.
          const cookie = i % 2 === 0 ? Buffer.alloc(0) : randomBytes(32);
          s.send(clientHelloRecord(clientHelloBody({ random: randomBytes(32), cookie }), 0, i));
        }
        // Paced so loopback's socket buffers keep most of them (UDP drops the rest, as it may).
        await new Promise((r) => setTimeout(r, 2));
      }
      const deadline = Date.now() + 10_000;
      while (
        server.stats().helloVerifyRequests < senders.length * N * 0.9 &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = server.stats();
      assert.ok(st.helloVerifyRequests >= senders.length * N * 0.5, JSON.stringify(st));
      assert.equal(st.handshakes, 0);
      assert.equal(st.sessions, 0);
      globalThis.gc?.();
      const grown = process.memoryUsage().heapUsed - before;
      // Nothing is kept per hello; what grows is garbage not yet collected, far below 1 KB/hello.
      assert.ok(grown < 8 * 1024 * 1024, `heap grew ${grown} bytes over 10,000 hellos`);
    } finally {
      senders.forEach((s) => s.close());
      await server.close();
    }
  });

  it('handshakes past the cookie are bounded per address and in total, and time out', async () => {
    const { server } = await start({
      maxHandshakesPerAddress: 3,
      maxHandshakes: 5,
      handshakeTimeoutMs: 300,
    });
    const clients = await Promise.all(Array.from({ length: 8 }, () => new Udp(server.port).open()));
    try {
      for (const u of clients) {
        // A source that does answer the cookie, then stalls before its ClientKeyExchange.
        const random = randomBytes(32);
        u.send(clientHelloRecord(clientHelloBody({ random }), 0, 0));
        const hvr = parseRecords((await u.next())!)[0]!;
        const cookie = hvr.fragment.subarray(15, 15 + hvr.fragment[14]!);
        u.send(clientHelloRecord(clientHelloBody({ random, cookie }), 1, 1));
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(server.stats().handshakes, 3, JSON.stringify(server.stats()));
      assert.equal(server.stats().handshakesRefused, 5);
      await new Promise((r) => setTimeout(r, 1600));
      assert.equal(server.stats().handshakes, 0, 'timed out and forgotten');
    } finally {
      clients.forEach((u) => u.close());
      await server.close();
    }
  });

  it('garbage, truncated records and stray epoch-1 records from unknown sources get no answer', async () => {
    const { server } = await start();
    const u = await new Udp(server.port).open();
    try {
      u.send(Buffer.from('not dtls at all, not at all'));
      u.send(Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 1, 2]));
      u.send(Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2]));
      assert.equal(await u.next(300), undefined);
      assert.equal(server.stats().helloVerifyRequests, 0);
    } finally {
      u.close();
      await server.close();
    }
  });
});

// Measurement helpers of bench/connect.mjs: echo servers (plain TCP and TLS on loopback), a bounded
// throughput run (bytes echoed back, MB/s one way) and bounded round trips of a small message.
import { createServer, connect as tcpConnect } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer as tlsServer, connect as tlsConnect } from 'node:tls';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

const echoTo = (c) => {
  c.setNoDelay(true);
  c.on('error', () => c.destroy());
  c.pipe(c);
};
const listen = (server) =>
  new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

/** A TCP echo server and a TLS one (the given certificate) on loopback; `close()` ends both. */
export async function echoServers({ certFile, keyFile }) {
  const cert = readFileSync(certFile, 'utf8');
  const tcp = createServer(echoTo);
  const tls = tlsServer(
    { cert, key: readFileSync(keyFile, 'utf8'), minVersion: 'TLSv1.2' },
    echoTo,
  );
  const tcpPort = await listen(tcp);
  const tlsPort = await listen(tls);
  const opened = (s, ev) =>
    new Promise((resolve, reject) => {
      s.once(ev, () => resolve(s));
      s.once('error', reject);
    });
  return {
    tcpPort,
    /** A plain TCP connection to the echo server (the reference). */
    tcp: () => {
      const s = tcpConnect(tcpPort, '127.0.0.1');
      s.setNoDelay(true);
      return opened(s, 'connect');
    },
    /** A TLS connection to the TLS echo server (TLS on both ends, no relay). */
    tls: () => {
      const s = tlsConnect({ port: tlsPort, host: '127.0.0.1', ca: cert, minVersion: 'TLSv1.2' });
      s.setNoDelay(true);
      return opened(s, 'secureConnect');
    },
    close: () => {
      tcp.close();
      tls.close();
    },
  };
}

/** Rejects after `ms` with `what` in the message (every phase of the bench is bounded). */
function bounded(ms, what, run) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done in ${ms} ms`)), ms);
  });
  return Promise.race([new Promise(run), limit]).finally(() => clearTimeout(timer));
}

/** Sends `total` bytes in 64 KiB writes (backpressure by `drain`) and reads them back; MB/s. */
export const throughput = (s, total, ms) =>
  bounded(ms, 'throughput', (resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    let got = 0;
    let sent = 0;
    const t0 = performance.now();
    const on = (b) => {
      got += b.length;
      if (got >= total) {
        s.off('data', on);
        resolve(total / 1e6 / ((performance.now() - t0) / 1000));
      }
    };
    s.on('data', on);
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void s.once('drain', pump);
      }
    };
    s.resume();
    pump();
  });

/** `n` round trips of a 32-byte message, one at a time; their times in ms. */
export const latency = (s, n, ms) =>
  bounded(ms, 'round trips', async (resolve, reject) => {
    const rtts = [];
    const msg = Buffer.alloc(32, 1);
    s.resume();
    try {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await new Promise((done) => {
          let got = 0;
          const on = (b) => {
            got += b.length;
            if (got >= msg.length) {
              s.off('data', on);
              done();
            }
          };
          s.on('data', on);
          s.write(msg);
        });
        rtts.push(performance.now() - t0);
      }
      resolve(rtts);
    } catch (err) {
      reject(err);
    }
  });

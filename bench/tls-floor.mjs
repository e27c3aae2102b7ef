#!/usr/bin/env node
// `node --expose-gc bench/tls-floor.mjs`: the memory floor of Node's own TLS stack — a bare
// `tls.Server` (mutual TLS, client certificate requested, nothing else) holding N idle
// connections, RSS and V8 heap after a full GC, ÷ N — to read bench:reconnect's and bench:mqtt's
// "memory per idle mTLS connection" against: what lies under the engine and cannot be cut from
// JavaScript (OpenSSL's SSL objects, Node's TLSWrap and its BIO buffers). Throwaway P-256
// certificates made with openssl in a temp dir; the clients run in a child process. Loopback only.
// Env: N (1000).
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

const [, , role, portArg, dirArg] = process.argv;
const N = Number(process.env.N ?? 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);

if (role === 'client') {
  const f = (n) => readFileSync(join(dirArg, n));
  const sockets = [];
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from(
        { length: Math.min(50, N - i) },
        () =>
          new Promise((resolve) => {
            const s = tls.connect({
              host: '127.0.0.1',
              port: Number(portArg),
              ca: f('server.crt'),
              key: f('client.key'),
              cert: f('client.crt'),
              checkServerIdentity: () => undefined,
            });
            s.once('secureConnect', () => (s.write('x'), resolve()));
            s.once('error', resolve);
            sockets.push(s);
          }),
      ),
    );
  }
  process.send({ open: sockets.filter((s) => s.encrypted && !s.destroyed).length });
  setInterval(() => undefined, 60_000);
} else {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-floor-'));
  try {
    const ssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    for (const [name, cn] of [
      ['server', '127.0.0.1'],
      ['client', 'client'],
    ])
      ssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-subj',
        `/CN=${cn}`,
        '-days',
        '1',
      ]);
    const f = (n) => readFileSync(join(dir, n));
    const held = [];
    const server = tls.createServer(
      { key: f('server.key'), cert: f('server.crt'), ca: f('client.crt'), requestCert: true },
      (s) => {
        s.on('data', () => undefined);
        held.push(s);
      },
    );
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const measure = async () => {
      globalThis.gc();
      await sleep(300);
      globalThis.gc();
      return { rss: rssKb(), heap: process.memoryUsage().heapUsed / 1024 };
    };
    const before = await measure();
    const clients = fork(new URL(import.meta.url).pathname, [
      'client',
      String(server.address().port),
      dir,
    ]);
    const { open } = await new Promise((r) => clients.once('message', r));
    await sleep(1000);
    const after = await measure();
    clients.kill();
    console.log(
      `bare Node ${process.version} tls.Server, ${open} idle mutual-TLS connections: ${((after.rss - before.rss) / open).toFixed(1)} KB RSS per connection after a full GC, of which V8 heap ${((after.heap - before.heap) / open).toFixed(1)} KB`,
    );
    server.close();
    for (const s of held) s.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

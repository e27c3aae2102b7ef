// A webhook receiver for benchmarks: an HTTPS server on loopback with a certificate from a CA made
// with openssl for this run (a root and a leaf for 127.0.0.1 in a temp dir, removed on close;
// nothing committed). It records every request with its arrival time and answers 204. The bench's
// own copy, so benchmarks do not depend on the hub's compiled test fixtures.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const openssl = (args) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A root CA and a server certificate it issued for 127.0.0.1, in a fresh temp dir. */
function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-rx-'));
  const f = (n) => join(dir, n);
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    '/O=Bench receiver CA/CN=Bench Root',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    f('root.key'),
    '-out',
    f('root.pem'),
  ]);
  writeFileSync(
    f('leaf.ext'),
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  openssl([
    'req',
    '-new',
    ...EC,
    '-subj',
    '/CN=receiver',
    '-keyout',
    f('key.pem'),
    '-out',
    f('csr'),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    f('csr'),
    '-CA',
    f('root.pem'),
    '-CAkey',
    f('root.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('leaf.ext'),
    '-out',
    f('leaf.pem'),
  ]);
  return {
    caPem: readFileSync(f('root.pem'), 'utf8'),
    cert: readFileSync(f('leaf.pem')),
    key: readFileSync(f('key.pem')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts the receiver: `url`, `caPem` (what the hub must trust), `received` ([{ path, headers,
 * body, at }], `at` the arrival time in ms) and `close()`.
 */
export async function startHttpsReceiver() {
  const certs = makeCertificates();
  const received = [];
  const server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    caPem: certs.caPem,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      certs.remove();
    },
  };
}

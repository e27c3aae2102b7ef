import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@bulwark/cli';
import { captureIo } from './helpers.js';

// A self-signed certificate for 127.0.0.1 needs a tool to make it; the test is skipped without one.
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('TLS trust of the hub', { skip: !hasOpenssl && 'openssl is not installed' }, () => {
  let dir = '';
  let server: Server;
  let url = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=test hub',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.pem')) },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ required: false }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('--ca makes the hub trusted; without it the error says how to fix it', async () => {
    const ok = captureIo({ BULWARK_HUB: url }, dir);
    assert.equal(
      await main(['crl', '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e', '--ca', 'ca.pem'], ok.io),
      0,
      ok.stderr,
    );
    const bad = captureIo({ BULWARK_HUB: url }, dir);
    assert.equal(await main(['crl', '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e'], bad.io), 1);
    assert.match(
      bad.stderr,
      /\(unavailable\)\nhint: the hub's certificate is not signed by a CA this command trusts: pass --ca FILE/,
    );
  });

  test('a certificate that does not name the host gets its own hint, not "pass --ca"', async () => {
    // The certificate names IP:127.0.0.1 only; `localhost` is the same server by another name.
    const c = captureIo({ BULWARK_HUB: url.replace('127.0.0.1', 'localhost') }, dir);
    assert.equal(
      await main(['crl', '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e', '--ca', 'ca.pem'], c.io),
      1,
    );
    assert.match(c.stderr, /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(c.stderr, /hint: the hub's certificate does not name the host in the URL/);
    assert.match(c.stderr, /--public-names/);
    assert.doesNotMatch(c.stderr, /--ca/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { startTestHub } from './helpers.js';

describe('TLS', () => {
  it('serves the operator’s own certificate when given --tls-cert and --tls-key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=operator.example',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const t = await startTestHub(['--tls-cert', cert, '--tls-key', key]);
    try {
      const res = await fetch(`${t.url}/healthz`, {
        dispatcher: new Agent({ connect: { ca: readFileSync(cert, 'utf8') } }),
      });
      assert.equal(res.status, 200);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses TLS below 1.2', async () => {
    const t = await startTestHub();
    try {
      const port = t.hub.info.httpPort;
      const err = await new Promise<Error | undefined>((resolve) => {
        const s = connect(
          { host: '127.0.0.1', port, ca: t.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' },
          () => {
            s.end();
            resolve(undefined);
          },
        );
        s.on('error', resolve);
      });
      assert.ok(err, 'a TLS 1.1 handshake must fail');
    } finally {
      await t.close();
    }
  });
});

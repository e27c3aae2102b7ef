import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { startTestHub } from './helpers.js';

/**
 * `openssl s_client` against 127.0.0.1:port (spawned: the hub runs in this process): types each
 * line of `input` after `gapMs`, then closes stdin; returns stdout and stderr, bounded in time.
 */
function sClient(port: number, args: string[], input = ['Q'], gapMs = 0): Promise<string> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.on('error', () => undefined); // it may exit before reading everything
  void (async () => {
    for (const line of input) {
      await new Promise((r) => setTimeout(r, gapMs));
      child.stdin.write(`${line}\n`);
    }
    await new Promise((r) => setTimeout(r, gapMs));
    child.stdin.end();
  })();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openssl s_client did not finish: ${out}`));
    }, 15_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
const REFUSED = /Cipher is \(NONE\)/;

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
  it('HTTPS and MQTT over TLS: TLS 1.2 only with ECDHE + AEAD suites (CBC and CCM8 refused), 1.3 as is, no renegotiation', async () => {
    const t = await startTestHub();
    try {
      for (const port of [t.hub.info.httpPort, t.hub.info.mqttPort]) {
        for (const cbcOrCcm8 of [
          'AES128-SHA',
          'ECDHE-ECDSA-AES128-SHA',
          'ECDHE-ECDSA-AES256-SHA384',
          'ECDHE-ECDSA-AES128-CCM8',
          'ECDHE-ECDSA-AES128-CCM',
        ]) {
          const out = await sClient(port, ['-tls1_2', '-cipher', cbcOrCcm8]);
          assert.match(out, REFUSED, `${port} ${cbcOrCcm8}: ${out.slice(-300)}`);
        }
        for (const aead of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
          const out = await sClient(port, ['-tls1_2', '-cipher', aead]);
          assert.match(out, new RegExp(`Cipher is ${aead}`), `${port} ${aead}`);
        }
        assert.match(await sClient(port, ['-tls1_3']), /TLSv1\.3, Cipher is TLS_AES_/);
        // `R` asks s_client to renegotiate: the server answers with a no_renegotiation alert
        const reneg = await sClient(port, ['-tls1_2'], ['R'], 1000);
        assert.match(reneg, /RENEGOTIATING/);
        assert.match(reneg, /no renegotiation/, `${port}: ${reneg.slice(-400)}`);
      }
    } finally {
      await t.close();
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

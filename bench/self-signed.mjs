// A self-signed P-256 TLS server certificate for 127.0.0.1, made with openssl for one run in the
// caller's temp dir (never committed): the benchmarks' local TLS servers (a gateway's broker,
// nginx) use it and their clients trust exactly it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Writes `${name}-cert.pem` and `${name}-key.pem` into `dir`; returns their paths. */
export function selfSignedCert(dir, { name = 'server', cn = '127.0.0.1', days = 2 } = {}) {
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
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
      String(days),
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { certFile, keyFile };
}

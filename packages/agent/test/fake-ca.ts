/**
 * A certificate authority for tests that play the hub without one: signs the agent's CSR with a
 * throwaway CA made by openssl (async execFile: no blocking of the event loop).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IssuedCertificateView } from '@bulwark/protocol';
import type { CertificateAuthority } from '../src/runtime/identity.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);

/** A CA for one test file; `issued` counts certificates. */
export async function fakeCa(
  days = 30,
): Promise<CertificateAuthority & { dir: string; issued: number; deviceId: string }> {
  const dir = tempDir('bulwark-fake-ca-');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.pem'),
    '-days',
    '3650',
    '-subj',
    '/CN=test-ca',
  ]);
  const caPem = await readFile(join(dir, 'ca.pem'), 'utf8');
  const orgId = randomUUID();
  let n = 0;
  const sign = async (csr: string, deviceId: string): Promise<IssuedCertificateView> => {
    n++;
    const csrFile = join(dir, `req-${n}.csr`);
    const out = join(dir, `cert-${n}.pem`);
    await writeFile(csrFile, csr);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      join(dir, 'ca.pem'),
      '-CAkey',
      join(dir, 'ca.key'),
      '-days',
      String(days),
      '-set_serial',
      String(1000 + n),
      '-out',
      out,
    ]);
    ca.issued = n;
    return {
      deviceId,
      organizationId: orgId,
      serial: (1000 + n).toString(16),
      certificate: await readFile(out, 'utf8'),
      chain: [caPem, caPem],
      hubCa: caPem,
      notAfter: new Date(Date.now() + days * 86400_000).toISOString(),
    };
  };
  const ca = {
    dir,
    issued: 0,
    deviceId: '',
    /** Each enrollment is a new device (renewal keeps the id). */
    enroll: (_token: string, csr: string) => {
      ca.deviceId = randomUUID();
      return sign(csr, ca.deviceId);
    },
    renew: (csr: string, cur: { deviceId: string }) => sign(csr, cur.deviceId),
  };
  return ca;
}

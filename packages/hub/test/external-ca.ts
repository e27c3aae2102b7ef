/**
 * An outside CA made with openssl for TLS tests (decision 0025): a root, an intermediate, and
 * server certificates it issues, in a temp dir. Nothing here is committed: every run makes its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const openssl = (args: string[]) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface ExternalCa {
  dir: string;
  /** The root CA certificate (PEM file). */
  root: string;
  /** The intermediate CA certificate (PEM file). */
  intermediate: string;
  /** A server certificate for `cn` naming 127.0.0.1 and localhost: leaf, leaf + intermediate, key. */
  issue(cn: string): { leaf: string; fullchain: string; key: string };
  remove(): void;
}

/** Makes a root and an intermediate CA in a fresh temp dir. */
export function externalCa(): ExternalCa {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-extca-'));
  const f = (n: string) => join(dir, n);
  const caExt = f('ca.ext');
  writeFileSync(
    caExt,
    'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  openssl([
    'req',
    '-x509',
    ...EC,
    '-days',
    '2',
    '-subj',
    '/O=Outside CA/CN=Outside Root',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    f('root.key'),
    '-out',
    f('root.pem'),
  ]);
  openssl([
    'req',
    '-new',
    ...EC,
    '-subj',
    '/O=Outside CA/CN=Outside Intermediate',
    '-keyout',
    f('int.key'),
    '-out',
    f('int.csr'),
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    f('int.csr'),
    '-CA',
    f('root.pem'),
    '-CAkey',
    f('root.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    caExt,
    '-out',
    f('int.pem'),
  ]);
  const leafExt = f('leaf.ext');
  writeFileSync(
    leafExt,
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  return {
    dir,
    root: f('root.pem'),
    intermediate: f('int.pem'),
    issue(cn) {
      const [key, csr, leaf, fullchain] = ['key.pem', 'csr', 'leaf.pem', 'fullchain.pem'].map((x) =>
        f(`${cn}.${x}`),
      ) as [string, string, string, string];
      openssl(['req', '-new', ...EC, '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        f('int.pem'),
        '-CAkey',
        f('int.key'),
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        leafExt,
        '-out',
        leaf,
      ]);
      writeFileSync(fullchain, readFileSync(leaf, 'utf8') + readFileSync(f('int.pem'), 'utf8'));
      return { leaf, fullchain, key };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

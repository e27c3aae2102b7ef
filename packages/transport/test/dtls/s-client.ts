/** OpenSSL's DTLS client (`openssl s_client -dtls1_2`) driven by the interop tests. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const opensslPresent = spawnSync('openssl', ['version']).error === undefined;

/**
 * Runs s_client against 127.0.0.1:`port`, sends `ping` once connected (`-brief`'s CONNECTION
 * ESTABLISHED, or the New/Reused line without it); resolves with its output when `echo:ping` comes
 * back, when it ends, or after 5 s.
 */
export function sClient(port: number, args: string[]): Promise<string> {
  const p = spawn('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      p.kill();
      resolve(out);
    };
    const timer = setTimeout(done, 5000);
    const take = (b: Buffer): void => {
      out += b.toString();
      if (/CONNECTION ESTABLISHED|^(New|Reused), /m.test(out) && !out.includes('ping-sent')) {
        out += '\nping-sent\n';
        p.stdin.write('ping\n');
      }
      if (out.includes('echo:ping')) done();
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.once('close', done);
  });
}

const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { stdio: 'ignore' });
};

/** In `dir`: a P-256 CA (ca.pem), a server (server.pem/.key) and a client (client.pem/.key) it signs. */
export function makePki(dir: string): void {
  const f = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  );
  for (const [name, subj] of [
    ['server', '/CN=127.0.0.1'],
    ['client', '/O=org-1/CN=dev-1'],
  ] as const) {
    openssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      name === 'server' ? '1' : '2',
      '-days',
      '1',
      '-out',
      f(`${name}.pem`),
    );
  }
}

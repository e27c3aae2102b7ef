/**
 * The hub's TLS certificate as a client sees it: fetched from the live HTTPS port, checked for
 * its validity window, its chain to the CA bundle clients are given, and whether its names
 * (SANs) cover every name the hub is reached by.
 */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { connect, checkServerIdentity, type PeerCertificate } from 'node:tls';
import { check, type Check } from './report.js';

const DAY = 86_400_000;
// Certificates from the hub's CA and from ACME renew well before 30 days are left.
const EXPIRY_WARN_DAYS = 30;

/** The names the hub should be reached by, each with whether a miss is a failure. */
export interface ExpectedName {
  name: string;
  /** Named by the operator (--public-names, --public-url, --name): a miss fails; else warns. */
  required: boolean;
}

/** Names the host answers to when the HTTPS port is bound to every interface. */
export function hostNames(): string[] {
  const names = new Set<string>([hostname()]);
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (!a.internal && a.family === 'IPv4') names.add(a.address);
  return [...names];
}

/** The peer certificate of host:port and whether it chains to `ca` (no hostname check here). */
export function fetchCertificate(
  port: number,
  ca: string | undefined,
  host = '127.0.0.1',
  timeoutMs = 5000,
): Promise<{ cert: PeerCertificate; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect({
      host,
      port,
      ...(ca ? { ca } : {}),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = sock.getPeerCertificate(true);
      const error = sock.authorizationError ? String(sock.authorizationError) : undefined;
      sock.end();
      resolve({ cert, authorized: sock.authorized, ...(error ? { error } : {}) });
    });
    sock.once('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The certificate checks, from a fetched certificate (pure: `now` and names given). */
export function certificateChecks(
  got: { cert: PeerCertificate; authorized: boolean; error?: string },
  names: readonly ExpectedName[],
  now: number,
  caFile: string,
): Check[] {
  const { cert } = got;
  const checks: Check[] = [];
  const notAfter = Date.parse(cert.valid_to);
  const notBefore = Date.parse(cert.valid_from);
  const days = Math.floor((notAfter - now) / DAY);
  if (now > notAfter)
    checks.push(check('tls.expiry', 'fail', `the server certificate expired on ${cert.valid_to}`));
  else if (now < notBefore)
    checks.push(
      check(
        'tls.expiry',
        'fail',
        `the server certificate is valid only from ${cert.valid_from}: is the clock behind?`,
      ),
    );
  else
    checks.push(
      check(
        'tls.expiry',
        days < EXPIRY_WARN_DAYS ? 'warn' : 'pass',
        `the server certificate expires on ${cert.valid_to} (${days} days)`,
      ),
    );
  checks.push(
    got.authorized
      ? check('tls.chain', 'pass', `the server certificate chains to ${caFile}`)
      : check(
          'tls.chain',
          'fail',
          `the server certificate does not chain to ${caFile}, the bundle clients are given (${got.error ?? 'not trusted'})`,
        ),
  );
  const sans = cert.subjectaltname ?? '';
  const missing = names.filter(
    (n) => checkServerIdentity(n.name, { ...cert, subjectaltname: sans }) !== undefined,
  );
  const covered = names.filter((n) => !missing.includes(n)).map((n) => n.name);
  const hard = missing.filter((n) => n.required).map((n) => n.name);
  const soft = missing.filter((n) => !n.required).map((n) => n.name);
  const status = hard.length > 0 ? 'fail' : soft.length > 0 ? 'warn' : 'pass';
  const parts = [`names: ${sans || '(none)'}`];
  if (covered.length > 0) parts.push(`covers ${covered.join(', ')}`);
  if (hard.length > 0) parts.push(`MISSING ${hard.join(', ')} (named in the configuration)`);
  if (soft.length > 0)
    parts.push(
      `missing ${soft.join(', ')} (this host's name and addresses: clients using them fail with ERR_TLS_CERT_ALTNAME_INVALID; add them to --public-names)`,
    );
  checks.push(check('tls.names', status, parts.join('; ')));
  return checks;
}

/** The TLS checks against the live port; a refused handshake is a failure. */
export async function tlsChecks(
  port: number,
  caFile: string,
  names: readonly ExpectedName[],
  now: number,
): Promise<Check[]> {
  let ca: string | undefined;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    return [check('tls', 'fail', `cannot read the CA bundle ${caFile}: ${(err as Error).message}`)];
  }
  try {
    return certificateChecks(await fetchCertificate(port, ca), names, now, caFile);
  } catch (err) {
    return [
      check(
        'tls',
        'fail',
        `TLS handshake with 127.0.0.1:${port} failed: ${(err as Error).message}`,
      ),
    ];
  }
}

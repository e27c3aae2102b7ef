/**
 * The hub's TLS server certificate and what a client must trust for it (decision 0025, issue 13):
 *
 * - with `--tls-cert`/`--tls-key`, the operator's certificate; the CA that signs it, up to its
 *   root, comes from `--tls-ca`, the rest of the `--tls-cert` file, or Node's root store, and the
 *   chain must verify, the key must fit and the certificate must be current — else a precise error;
 * - otherwise a certificate from the hub's own CA naming every address and name the host is
 *   reached at: its interfaces (all of them when the hub binds a wildcard), its host name,
 *   localhost, and `--public-names`.
 *
 * Loaded at start and again on SIGHUP; a reload that fails leaves the running certificate alone.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { PkiService } from '@bulwark/core';
import type { HubConfig } from './config.js';

/** A loaded server certificate. */
export interface ServerTls {
  key: string;
  /** What the server sends: the certificate and its intermediate CAs. */
  cert: string;
  /** An outside CA's certificates up to its root ('' when the hub's own CA signs). */
  issuers: string;
  /** Where it came from: the --tls-cert path, or the hub's CA. */
  source: string;
  /** The DNS names and IP addresses the certificate names. */
  names: string[];
  /** --public-names entries the certificate does not name (clients using them will fail). */
  unnamed: string[];
  notAfter: string;
}

/** A certificate file that cannot be served; the message names the file and what is wrong. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

type TlsConfig = Pick<HubConfig, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'publicNames' | 'httpHost'>;

// Deeper chains than this are a loop or a mistake; public PKI chains are 2–4 long.
const MAX_CHAIN = 8;

/** The names and addresses the host is reached at (link-local IPv6 needs a zone, so not those). */
export function hostNames(config: Pick<HubConfig, 'publicNames' | 'httpHost'>): {
  dns: string[];
  ips: string[];
} {
  const wildcard = ['0.0.0.0', '::', ''].includes(config.httpHost);
  const ifaces = wildcard
    ? Object.values(networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && !/^fe80:/i.test(a.address))
        .map((a) => a!.address)
    : [config.httpHost];
  const all = ['localhost', hostname(), '127.0.0.1', '::1', ...ifaces, ...config.publicNames];
  return {
    dns: [...new Set(all.filter((n) => n !== '' && isIP(n) === 0))],
    ips: [...new Set(all.filter((n) => isIP(n) !== 0))],
  };
}

/** Loads the server certificate: the operator's files, or a fresh one from the hub's CA. */
export async function loadServerTls(
  config: TlsConfig,
  pki: Pick<PkiService, 'issueServerCertificate' | 'hubCaPem'>,
): Promise<ServerTls> {
  if (config.tlsCert || config.tlsKey || config.tlsCa) return loadFiles(config);
  const { dns, ips } = hostNames(config);
  const issued = await pki.issueServerCertificate({ dnsNames: dns, ipAddresses: ips });
  const leaf = new X509Certificate(issued.certPem);
  return {
    key: issued.keyPem,
    cert: withNewline(issued.certPem) + withNewline(await pki.hubCaPem()),
    issuers: '',
    source: "the hub's CA",
    names: [...dns, ...ips],
    unnamed: [],
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}

function loadFiles(config: TlsConfig): ServerTls {
  if (!config.tlsCert || !config.tlsKey)
    throw new TlsFileError('--tls-cert and --tls-key go together (and --tls-ca needs them)');
  const certText = read(config.tlsCert, '--tls-cert');
  const keyText = read(config.tlsKey, '--tls-key');
  const certs = parseCerts(certText, `--tls-cert ${config.tlsCert}`);
  const extra = config.tlsCa
    ? parseCerts(read(config.tlsCa, '--tls-ca'), `--tls-ca ${config.tlsCa}`)
    : [];
  const leaf = certs[0]!;
  let key;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw new TlsFileError(`--tls-key ${config.tlsKey}: not a PEM private key (${msg(err)})`);
  }
  if (!leaf.checkPrivateKey(key))
    throw new TlsFileError(
      `--tls-key ${config.tlsKey} is not the key of the certificate in --tls-cert ${config.tlsCert} (${leaf.subject.replace(/\n/g, ', ')})`,
    );
  const now = Date.now();
  if (Date.parse(leaf.validTo) <= now || Date.parse(leaf.validFrom) > now)
    throw new TlsFileError(
      `--tls-cert ${config.tlsCert}: the certificate is valid from ${leaf.validFrom} to ${leaf.validTo}, not now`,
    );
  // Walk up from the certificate to a self-signed root: every link's signature verified.
  const pool = [...certs.slice(1), ...extra];
  const served = [leaf];
  const issuers: X509Certificate[] = [];
  let cur = leaf;
  for (let depth = 0; !selfSigned(cur); depth++) {
    const issuer = pool.find((c) => issues(c, cur)) ?? systemRoots().find((c) => issues(c, cur));
    if (issuer === undefined || depth >= MAX_CHAIN) {
      throw new TlsFileError(
        `--tls-cert ${config.tlsCert}: no certificate of "${oneLine(cur.issuer)}", which issued "${oneLine(cur.subject)}", ` +
          `in ${config.tlsCa ? `--tls-ca ${config.tlsCa}, ` : ''}the --tls-cert file or Node's root store. ` +
          `Devices and the CLI must be handed the CA up to its root: give it with --tls-ca FILE`,
      );
    }
    issuers.push(issuer);
    if (!selfSigned(issuer)) served.push(issuer);
    cur = issuer;
  }
  if (issuers.length === 0) issuers.push(leaf); // a self-signed server certificate is its own CA
  const cert = served.map((c) => c.toString()).join('');
  try {
    createSecureContext({ key: keyText, cert });
  } catch (err) {
    throw new TlsFileError(
      `--tls-cert ${config.tlsCert} with --tls-key ${config.tlsKey}: ${msg(err)}`,
    );
  }
  const names = (leaf.subjectAltName ?? '')
    .split(/,\s*/)
    .map((n) => n.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  const unnamed = config.publicNames.filter((n) =>
    isIP(n) === 0 ? leaf.checkHost(n) === undefined : leaf.checkIP(n) === undefined,
  );
  return {
    key: keyText,
    cert,
    issuers: issuers.map((c) => c.toString()).join(''),
    source: config.tlsCert,
    names,
    unnamed,
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}

const msg = (err: unknown) => (err instanceof Error ? err.message : String(err));
const oneLine = (dn: string) => dn.replace(/\n/g, ', ');
const withNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);

function read(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsFileError(`${flag} ${path}: ${msg(err)}`);
  }
}

function parseCerts(text: string, what: string): X509Certificate[] {
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new TlsFileError(`${what}: no PEM certificate in the file`);
  return pems.map((p, i) => {
    try {
      return new X509Certificate(p);
    } catch (err) {
      throw new TlsFileError(`${what}: certificate ${i + 1} does not parse (${msg(err)})`);
    }
  });
}

/** Whether `ca` issued `cert`: names match and the signature verifies with its key. */
function issues(ca: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

const selfSigned = (c: X509Certificate) => issues(c, c);

let roots: X509Certificate[] | undefined;
/** Node's bundled root CAs (Mozilla's), parsed once on first need. */
function systemRoots(): X509Certificate[] {
  return (roots ??= rootCertificates.map((p) => new X509Certificate(p)));
}

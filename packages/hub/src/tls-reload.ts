/**
 * Reloading the server certificate on SIGHUP (decision 0025): everything is loaded and checked
 * first, then new connections get it (open ones keep theirs), then the trust bundle handed to
 * devices and the CLI follows. On any error the running certificate stays and the log says why.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { PkiService } from '@bulwark/core';
import type { HubConfig } from './config.js';
import { loadServerTls, type ServerTls } from './server-tls.js';

/** The outcome of a certificate reload. */
export type TlsReload =
  { ok: true; source: string; notAfter: string } | { ok: false; error: string };

/** A reload function that runs one reload at a time (a second SIGHUP waits, then reads again). */
export function tlsReloader(d: {
  config: HubConfig;
  pki: PkiService;
  /** DATA_DIR/ca.pem, runtime.json's CA bundle. */
  caFile: string;
  log: Logger;
  current: ServerTls;
  /** Installs a key and certificate on every TLS server; throws, changing nothing, if they do not load. */
  apply(creds: { key: string; cert: string }): void;
}): () => Promise<TlsReload> {
  let served = d.current;
  const once = async (): Promise<TlsReload> => {
    try {
      const next = await loadServerTls(d.config, d.pki);
      d.apply({ key: next.key, cert: next.cert });
      d.pki.setServerIssuers(next.issuers);
      writePrivateFile(d.caFile, await d.pki.serverTrustPem());
      served = next;
      d.log.info(
        { source: next.source, names: next.names, notAfter: next.notAfter, unnamed: next.unnamed },
        'TLS certificate reloaded: new connections use it',
      );
      return { ok: true, source: next.source, notAfter: next.notAfter };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      d.log.error(
        { error, kept: served.source, notAfter: served.notAfter },
        `TLS reload failed, still serving the previous certificate: ${error}`,
      );
      return { ok: false, error };
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  return () => {
    const run = queue.then(once);
    queue = run;
    return run;
  };
}

/** Writes a file atomically (temp file + rename) with mode 0600: readers never see half of it. */
export function writePrivateFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The start banner's TLS lines: where the certificate is from, what it names, what it lacks. */
export function printTls(print: (line: string) => void, t: ServerTls): void {
  print(`  TLS certificate from ${t.source} (until ${t.notAfter}), naming: ${t.names.join(', ')}`);
  if (t.unnamed.length > 0)
    print(
      `  WARNING: the certificate does not name ${t.unnamed.join(', ')} (--public-names): clients using them fail with ERR_TLS_CERT_ALTNAME_INVALID`,
    );
}

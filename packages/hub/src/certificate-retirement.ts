/**
 * Retires superseded device certificates (decision 0016): a renewed certificate is refused from
 * the end of its overlap on (checked at every authentication); this timer then revokes it as
 * `superseded`, so it is in the CRL and its revocation signal cuts what it still holds open.
 * Every node runs it; a certificate is revoked once, by whichever node gets there first.
 */
import type { Logger } from 'pino';
import type { PkiService } from '@bulwark/core';

/** A minute: sessions of a retired certificate end within a minute of its overlap ending. */
const RETIRE_EVERY_MS = 60_000;

/** Starts the retirement timer; the returned function stops it and waits for a running pass. */
export function startCertificateRetirement(d: {
  pki: Pick<PkiService, 'retireSuperseded'>;
  log: Logger;
}): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => d.pki.retireSuperseded())
      .then(
        (n) => n > 0 && d.log.info({ retired: n }, 'superseded certificates revoked'),
        (err: unknown) => d.log.warn({ err }, 'certificate retirement failed'),
      );
  }, RETIRE_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

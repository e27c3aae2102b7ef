/**
 * CoAP over DTLS (RFC 7252 §9, "coaps", port 5684): a DTLS server (../dtls) whose decrypted
 * datagrams feed the same CoAP engine as plain UDP through a dgram-like socket (dtls-socket.ts).
 * The PSK identity of the association is the client's credential (decision 0041).
 */
import {
  startDtlsServer,
  type DtlsServerOptions,
  type DtlsAuthFailure,
  type DtlsLimits,
  type DtlsStats,
  type PskEntry,
} from '../dtls/index.js';
import { DtlsDatagramSocket } from './dtls-socket.js';
import type { CoapServer } from './hooks.js';
import { startCoapServer, type CoapServerOptions } from './server.js';

/** Options of startCoapsServer. */
export interface CoapsServerOptions extends Omit<CoapServerOptions, 'secure'> {
  /** The key of a PSK identity for the handshake, or undefined when the identity is unknown. */
  psk(identity: string, source: string): Promise<PskEntry | undefined>;
  dtlsLimits?: Partial<DtlsLimits>;
  /** How long a source must wait before its next handshake (the failure throttle; 0: now). */
  retryAfterMs?: (address: string) => number;
  /** A handshake failed on its credential (unknown identity, wrong key). */
  onAuthFailure?: (f: DtlsAuthFailure) => void;
  /** Certificate authentication (ECDHE-ECDSA suites); without it PSK only. */
  certificates?: DtlsServerOptions['certificates'];
}

/** A running CoAP-over-DTLS endpoint. */
export interface CoapsServer extends CoapServer {
  port: number;
  dtlsStats(): DtlsStats;
  /** Ends the PSK associations whose identity matches (close_notify); returns how many. */
  closeSessions(match: (identity: string) => boolean, reason: string): number;
}

/** Starts CoAP over DTLS with PSK on UDP. */
export async function startCoapsServer(opts: CoapsServerOptions): Promise<CoapsServer> {
  const socket = new DtlsDatagramSocket();
  const dtls = await startDtlsServer({
    port: opts.port,
    host: opts.host,
    psk: (identity, peer) => opts.psk(identity, peer.address),
    onData: (session, data) => socket.deliver(session, data),
    limits: opts.dtlsLimits,
    log: opts.log,
    ...(opts.retryAfterMs ? { retryAfterMs: opts.retryAfterMs } : {}),
    ...(opts.onAuthFailure ? { onAuthFailure: opts.onAuthFailure } : {}),
    ...(opts.certificates ? { certificates: opts.certificates } : {}),
  });
  socket.attach(dtls);
  let coap: CoapServer & { port: number };
  try {
    coap = await startCoapServer({
      ...opts,
      secure: {
        socket,
        sessionOf: (address, port) => {
          const s = dtls.session({ address, port });
          if (s === undefined) return undefined;
          const cert = s.certificate?.[0];
          const raw = s.rawPublicKey;
          return {
            identity: s.identity,
            pskRef: s.pskRef,
            ...(cert ? { certificate: cert } : {}),
            ...(raw ? { rawPublicKey: raw } : {}),
          };
        },
      },
    });
  } catch (err) {
    await dtls.close();
    throw err;
  }
  const modes = opts.certificates ? 'PSK and certificates' : 'PSK';
  opts.log?.info(
    { host: opts.host, port: dtls.port },
    `coaps (CoAP over DTLS 1.2, ${modes}) listening`,
  );
  return {
    ...coap,
    port: dtls.port,
    dtlsStats: () => dtls.stats(),
    closeSessions: (match, reason) =>
      dtls.closeSessions(
        (s) => s.certificate === undefined && s.rawPublicKey === undefined && match(s.identity),
        reason,
      ),
    async close() {
      await coap.close();
      await dtls.close();
    },
  };
}

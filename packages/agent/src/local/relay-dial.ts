/**
 * Dialing a remote-access relay session out to the hub (decision 0042): an HTTPS request to the
 * hub's origin with `Upgrade: bulwark-relay/1`, the device's certificate for mutual TLS and the
 * leg's one-time secret. After `101 Switching Protocols` the socket is the device's end of the
 * relayed stream; the end-to-end TLS session runs inside it.
 */
import { request } from 'node:https';
import type { Socket } from 'node:net';

/** The protocol token of the relay upgrade (transport's http/relay.ts). */
export const RELAY_PROTOCOL = 'bulwark-relay/1';

/** Where and how to dial. */
export interface RelayDial {
  /** The hub's HTTPS origin (`hubUrl`). */
  origin: string;
  /** `/api/v1/relay/{id}`. */
  path: string;
  secret: string;
  ca: string | string[];
  /** Client certificate chain and key (the device leg); absent for an operator leg. */
  cert?: string;
  key?: string;
  /** Extra headers (the operator's Authorization). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Opens the leg; rejects with the hub's refusal (`relay_refused: …`) or a network error. */
export function dialRelay(o: RelayDial): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const url = new URL(o.path, o.origin);
    if (url.protocol !== 'https:') {
      reject(new Error(`refusing ${url.protocol} (HTTPS only)`));
      return;
    }
    const req = request(url, {
      method: 'GET',
      headers: {
        connection: 'Upgrade',
        upgrade: RELAY_PROTOCOL,
        'x-bulwark-relay-secret': o.secret,
        ...o.headers,
      },
      ca: o.ca,
      ...(o.cert !== undefined ? { cert: o.cert } : {}),
      ...(o.key !== undefined ? { key: o.key } : {}),
      minVersion: 'TLSv1.2',
      agent: false,
      timeout: o.timeoutMs ?? 15_000,
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.slice(0, 4096)));
      res.on('end', () => {
        let why = `HTTP ${res.statusCode ?? '?'}`;
        try {
          const p = JSON.parse(body) as { code?: string; detail?: string };
          if (p.code) why = `${p.code}: ${p.detail ?? ''}`;
        } catch {
          /* not a problem document */
        }
        reject(new Error(`the relay refused the leg (${why})`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('the relay did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

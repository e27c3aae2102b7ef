/**
 * The operator's end of a remote-access tunnel (decision 0042): ask the hub for the session and
 * its one-time ticket, dial the relay (HTTP Upgrade `bulwark-relay/1` on the hub's HTTPS origin),
 * run TLS to the device INSIDE the relayed stream with the device's certificate pinned, and
 * present the ticket inside that TLS session. The hub relays ciphertext only.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { BulwarkClient } from '@bulwark/sdk';
import type { TunnelView } from '@bulwark/protocol';
import type { Connection } from '../connection.js';
import { CliError } from '../errors.js';

const RELAY_PROTOCOL = 'bulwark-relay/1';

/** What to open. */
export interface TunnelRequest {
  deviceId: string;
  target: string;
  perm?: 'read' | 'operate' | 'admin';
  maxSeconds?: number;
  maxBytes?: number;
  /** SHA-256 fingerprints to pin instead of the hub's list (out-of-band pins). */
  pins?: readonly string[];
}

/** An open tunnel: the end-to-end TLS socket, after the device accepted the ticket. */
export interface OpenTunnel {
  socket: TLSSocket;
  tunnel: TunnelView;
  /** The device's greeting and its answer to the ticket. */
  banner: string;
  accepted: string;
}

/** A tunnel refused at some step, with a code a script can match. */
export class TunnelError extends CliError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A fingerprint as hex, lower case, no colons. */
export const normalizePin = (fp: string) => fp.replace(/:/g, '').toLowerCase();

/** Dials the operator leg; resolves with the relayed socket after `101`. */
function dialRelay(conn: Connection, path: string, secret: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, conn.url);
    const req = request(url, {
      method: 'GET',
      headers: {
        connection: 'Upgrade',
        upgrade: RELAY_PROTOCOL,
        'x-bulwark-relay-secret': secret,
        authorization: `Bearer ${conn.token ?? ''}`,
      },
      ...(conn.caFile !== undefined ? { ca: readFileSync(conn.caFile, 'utf8') } : {}),
      minVersion: 'TLSv1.2',
      agent: false,
      timeout: 15_000,
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
        let code = 'relay_refused';
        let detail = `HTTP ${res.statusCode ?? '?'}`;
        try {
          const p = JSON.parse(body) as { code?: string; detail?: string };
          code = p.code ?? code;
          detail = p.detail ?? detail;
        } catch {
          /* not a problem document */
        }
        reject(new TunnelError(code, detail));
      });
    });
    req.on('timeout', () =>
      req.destroy(new TunnelError('relay_timeout', 'no answer from the hub')),
    );
    req.on('error', reject);
    req.end();
  });
}

/** Reads one CRLF-terminated line (at most 8 KiB); bytes after it are put back. */
export function readLine(socket: TLSSocket, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, line?: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const nl = buf.indexOf(10);
      if (nl === -1) {
        if (buf.length > 8192)
          done(new TunnelError('protocol', 'the device sent an overlong line'));
        return;
      }
      const rest = buf.subarray(nl + 1);
      done(null, buf.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
      if (rest.length > 0) socket.unshift(rest);
    };
    const onClose = () =>
      done(new TunnelError('tunnel_closed', 'the tunnel closed before the device answered'));
    const timer = setTimeout(
      () => done(new TunnelError('tunnel_timeout', 'the device did not answer in time')),
      ms,
    );
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** TLS to the device inside the relayed socket; refuses a certificate that is not pinned. */
async function secureToDevice(raw: Socket, pins: readonly string[]): Promise<TLSSocket> {
  // No CA check here on purpose: the pin is the check, and it is stricter (one certificate).
  const tls = tlsConnect({
    socket: raw,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', () => resolve());
    tls.once('error', (err: Error) => reject(new TunnelError('tls_failed', err.message)));
    tls.once('close', () =>
      reject(new TunnelError('tunnel_closed', 'the tunnel closed during the TLS handshake')),
    );
  });
  const fp = normalizePin(tls.getPeerCertificate().fingerprint256 ?? '');
  if (!pins.map(normalizePin).includes(fp)) {
    tls.destroy();
    throw new TunnelError(
      'pin_mismatch',
      `the device presented certificate ${fp}, which is not pinned: nothing was sent`,
    );
  }
  return tls;
}

/** Opens a tunnel end to end; rejects with TunnelError naming the step that failed. */
export async function openTunnel(
  client: BulwarkClient,
  conn: Connection,
  req: TunnelRequest,
): Promise<OpenTunnel> {
  const tunnel = await client.tickets.openTunnel(req.deviceId, {
    target: req.target,
    ...(req.perm !== undefined ? { perm: req.perm } : {}),
    ...(req.maxSeconds !== undefined ? { maxSeconds: req.maxSeconds } : {}),
    ...(req.maxBytes !== undefined ? { maxBytes: req.maxBytes } : {}),
  });
  const raw = await dialRelay(conn, tunnel.relayPath, tunnel.secret);
  let tls: TLSSocket;
  try {
    tls = await secureToDevice(raw, req.pins ?? tunnel.pins);
  } catch (err) {
    raw.destroy();
    throw err;
  }
  tls.setNoDelay(true);
  try {
    const banner = await readLine(tls);
    tls.write(`ticket ${tunnel.ticket}\r\n`);
    const accepted = await readLine(tls);
    if (!accepted.startsWith('OK')) {
      const m = /^ERR (\S+) ?(.*)$/.exec(accepted);
      throw new TunnelError(m?.[1] ?? 'refused', m?.[2] ?? accepted);
    }
    return { socket: tls, tunnel, banner, accepted };
  } catch (err) {
    tls.destroy();
    throw err;
  }
}

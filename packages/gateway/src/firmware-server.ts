/**
 * The firmware cache's LAN side (decision 0040, item 5): HTTPS with the broker's TLS certificate,
 * serving `GET|HEAD /api/v1/firmware/artifacts/{id}/image` — the path the agent downloads from the
 * hub — to the site's devices, admitted exactly as the local broker admits them: a client
 * certificate chaining to the organization's CAs as last synced (the TLS layer), its subject's O
 * the organization, its CN a device the gateway speaks for, its serial among that device's live
 * ones — on every request, against the current site copy; after each sync, open connections of
 * certificates no longer admitted (revoked, device moved or quarantined) are cut. Range requests
 * are served from disk (206; 416 for a range past the end). Everything else is refused with a
 * status and a sentence. Remote-access relay legs of site devices upgrade on the same server
 * (relay-forward.ts), admitted the same way; a sync that no longer admits a device cuts them too.
 */
import { X509Certificate } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { contentRange, decideRange } from '@bulwark/core';
import { ARTIFACT_ID, CacheError, type FirmwareCache, type Lease } from './firmware-cache.js';
import { normalizeSerial, type Site } from './site.js';

const IMAGE_PATH = /^\/api\/v1\/firmware\/artifacts\/([^/?#]+)\/image(?:\?.*)?$/;
/** Requests one device may have open at once (a flood from one device is refused 429). */
export const PER_DEVICE_REQUESTS = 4;
/** Connections at once (all devices), and the time a TLS handshake may take. */
const MAX_CONNECTIONS = 2048;
const HANDSHAKE_MS = 10_000;

/** The site device a client certificate is, as the local broker admits it; undefined: none. */
export function admittedDevice(
  site: Site | undefined,
  der: Buffer | undefined,
): string | undefined {
  if (site === undefined || der === undefined || der.length === 0) return undefined;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return undefined;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  const org = /(?:^|\n)O=([^\n]+)/.exec(cert.subject)?.[1];
  const d = cn === undefined ? undefined : site.devices.get(cn);
  if (!d || org !== site.view.orgId || !d.serials.has(normalizeSerial(cert.serialNumber)))
    return undefined;
  return cn;
}

const STATUS: Record<CacheError['code'], number> = {
  not_found: 404,
  too_large: 507,
  verification_failed: 502,
  unavailable: 503,
};

export interface FirmwareServer {
  server: Server;
  port: number;
  /** Refusals by reason since start (tests, status). */
  refused: Record<string, number>;
  /** A new site copy: new TLS trust for new connections; connections of devices gone are cut. */
  apply(site: Site): void;
  close(): Promise<void>;
}

export async function startFirmwareServer(o: {
  host: string;
  port: number;
  cert: string;
  key: string;
  site: () => Site | undefined;
  cache: FirmwareCache;
  log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
  /** Relay legs of site devices (relay-forward.ts), upgraded on this server. */
  relay?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}): Promise<FirmwareServer> {
  const trust = (s: Site | undefined) => ({ ca: s ? [s.view.root, s.view.issuing] : [] });
  const open = new Map<string, number>();
  const refused: Record<string, number> = {};
  const refuse = (res: ServerResponse, status: number, why: string, msg: string) => {
    refused[why] = (refused[why] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(`${msg}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const socket = req.socket as TLSSocket;
    const device = admittedDevice(o.site(), socket.getPeerCertificate(false)?.raw);
    if (device === undefined)
      return refuse(res, 403, 'not_admitted', 'this certificate is not a device of this site');
    const m = IMAGE_PATH.exec(req.url ?? '');
    if (m === null) return refuse(res, 404, 'not_found', 'only artifact images are served here');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 405, 'method', 'GET or HEAD');
    const id = m[1]!;
    if (!ARTIFACT_ID.test(id)) return refuse(res, 404, 'bad_id', 'not an artifact id');
    const n = open.get(device) ?? 0;
    if (n >= PER_DEVICE_REQUESTS)
      return refuse(res, 429, 'busy', `at most ${PER_DEVICE_REQUESTS} downloads at once`);
    open.set(device, n + 1);
    let lease: Lease | undefined;
    try {
      try {
        lease = await o.cache.acquire(id);
      } catch (err) {
        const code = err instanceof CacheError ? err.code : 'unavailable';
        o.log('debug', `artifact ${id} for ${device}: ${(err as Error).message}`);
        return refuse(res, STATUS[code], code, (err as Error).message);
      }
      await send(req, res, lease, o.cache);
    } finally {
      lease?.release();
      const left = (open.get(device) ?? 1) - 1;
      if (left === 0) open.delete(device);
      else open.set(device, left);
    }
  };

  const server = createServer(
    {
      cert: o.cert,
      key: o.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: HANDSHAKE_MS,
      ...trust(o.site()),
    },
    (req, res) => {
      handle(req, res).catch((err: Error) => {
        o.log('warn', `firmware request failed: ${err.message}`);
        res.destroy();
      });
    },
  );
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (sock: TLSSocket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });
  if (o.relay) server.on('upgrade', o.relay);
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 0; // a large image on a slow LAN: bounded by the idle timeout instead
  server.setTimeout(30_000, (s) => s.destroy());
  server.on('tlsClientError', (err) => o.log('debug', `device TLS refused: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address !== null ? address.port : o.port,
    refused,
    apply(site) {
      server.setSecureContext({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2', ...trust(site) });
      for (const sock of sockets)
        if (admittedDevice(site, sock.getPeerCertificate(false)?.raw) === undefined) {
          refused['cut'] = (refused['cut'] ?? 0) + 1;
          sock.destroy();
        }
    },
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** One response from the leased file: whole (200), one range (206) or none (416). */
function send(req: IncomingMessage, res: ServerResponse, lease: Lease, cache: FirmwareCache) {
  const common = { 'accept-ranges': 'bytes', etag: `"${lease.sha256}"` };
  const d = decideRange(req.headers.range, lease.length);
  if (d.kind === 'unsatisfiable') {
    res.writeHead(416, { ...common, 'content-range': contentRange(lease.length) });
    res.end();
    return Promise.resolve();
  }
  const range = d.kind === 'range' ? d.range : { start: 0, end: lease.length - 1 };
  res.writeHead(d.kind === 'range' ? 206 : 200, {
    ...common,
    'content-type': 'application/octet-stream',
    'content-length': String(lease.length === 0 ? 0 : range.end - range.start + 1),
    ...(d.kind === 'range' ? { 'content-range': contentRange(lease.length, d.range) } : {}),
  });
  if (req.method === 'HEAD' || lease.length === 0) {
    res.end();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const file = createReadStream(lease.path, { start: range.start, end: range.end });
    file.on('data', (c) => cache.served((c as Buffer).byteLength));
    file.on('error', () => res.destroy());
    // Also when the device left while its image was fetched (the response is closed already).
    finished(res, () => {
      file.destroy();
      resolve();
    });
    file.pipe(res);
  });
}

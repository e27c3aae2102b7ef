/**
 * The image download: HTTPS with the device's certificate (mutual TLS) and HTTP Range, streamed (an
 * image never sits in memory whole). A `RangeFetcher` yields the image's bytes from an offset to its
 * end; a dropped connection makes the iteration throw, and the caller resumes at the offset it has
 * durably written. The server's idea of the image length (Content-Range / Content-Length) is
 * checked against the signed metadata before the first byte is yielded.
 *
 * One download is one `RangeFetchSession`: its requests share ONE keep-alive connection (a delta
 * download makes one ranged request per changed region, and a mutual-TLS handshake per request
 * cost more than the bytes it saved), and a connection opened again after a drop resumes the TLS
 * session. The owner closes the session when the download ends or fails.
 */
import { Agent, request } from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * The image's bytes from `offset` to `end` inclusive (HTTP `Range: bytes=offset-end`), or to the
 * end of the image without `end` (`bytes=offset-`). It must yield exactly the bytes of the range
 * (the hub's GET …/image answers 206 with that range; a 200 with the whole image is wrong here).
 * Fewer bytes is an error of the source; the consumer stops reading (`return()` on the iterator,
 * which should abort the request) once it has what it asked for.
 */
export type RangeFetcher = (
  offset: number,
  end?: number,
  signal?: AbortSignal,
) => AsyncIterable<Uint8Array>;

/** TLS material for the download, read afresh per request (the certificate may be renewed). */
export interface DownloadTrust {
  ca: string[];
  cert: string;
  key: string;
}

/** A download refusal: `permanent` ones (wrong length, 404) are not retried. */
export class DownloadError extends Error {
  constructor(
    readonly code: 'length_mismatch' | 'download_failed',
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** What the fetcher needs. */
export interface RangeFetchOptions {
  url: string;
  trust: () => DownloadTrust | undefined;
  /** The image length the signed metadata gives. */
  length: number;
  /** Idle time on the socket before the request is dropped (default 30 s). */
  idleTimeoutMs?: number;
  /** Told of every request (the offset it starts at), for progress logs and tests. */
  onRequest?: (offset: number) => void;
}

/** What a session's connections cost so far (tests, logs). */
export interface RangeFetchStats {
  requests: number;
  /** TLS connections opened (each one a handshake). */
  connections: number;
  /** Of those, the ones that resumed an earlier TLS session (an abbreviated handshake). */
  resumed: number;
}

/** A RangeFetcher over one keep-alive connection; `close()` ends it. */
export interface RangeFetchSession {
  fetch: RangeFetcher;
  stats(): RangeFetchStats;
  /** Closes the connection (idempotent); a fetch running then fails. */
  close(): void;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** A RangeFetcher over node:https with the device identity, on one keep-alive connection. */
export function httpsRangeFetcher(o: RangeFetchOptions): RangeFetchSession {
  const idle = o.idleTimeoutMs ?? 30_000;
  // One socket: the requests of a download are sequential, and a second connection would be a
  // second handshake. The agent keeps the TLS session, so a reconnect after a drop resumes it.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 1,
    maxFreeSockets: 1,
    timeout: idle,
    maxCachedSessions: 2,
  });
  const stats: RangeFetchStats = { requests: 0, connections: 0, resumed: 0 };
  const seen = new WeakSet<Socket>();
  const onSocket = (socket: Socket): void => {
    if (seen.has(socket)) return;
    seen.add(socket);
    stats.connections++;
    socket.once('secureConnect', () => {
      if ((socket as TLSSocket).isSessionReused()) stats.resumed++;
    });
  };
  let closed = false;

  async function* fetchFrom(
    offset: number,
    end?: number,
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    if (closed) throw new Error('the download session is closed');
    const trust = o.trust();
    if (trust === undefined)
      throw new DownloadError('download_failed', 'no device identity to download with', false);
    o.onRequest?.(offset);
    const last = end ?? o.length - 1;
    const res = await open({ o, agent, trust, offset, end, idle, signal, onSocket, stats });
    const it = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    try {
      let skip = 0;
      let left = last - offset + 1;
      let exact = false; // the body is exactly the bytes wanted: read it to its end (keep-alive)
      if (res.statusCode === 416) {
        if (offset === o.length) return;
        throw new DownloadError(
          'length_mismatch',
          `the server has no byte at offset ${offset} (${res.headers['content-range'] ?? 'no range'}), the metadata says ${o.length} bytes`,
          true,
        );
      } else if (res.statusCode === 206) {
        const m = CONTENT_RANGE.exec(res.headers['content-range'] ?? '');
        if (m === null || Number(m[1]) !== offset || (end !== undefined && Number(m[2]) !== end))
          throw new DownloadError(
            'download_failed',
            `unexpected Content-Range ${JSON.stringify(res.headers['content-range'])} for offset ${offset}`,
            false,
          );
        if (m[3] !== '*' && Number(m[3]) !== o.length)
          throw new DownloadError(
            'length_mismatch',
            `the server's image is ${m[3]} bytes, the metadata says ${o.length}`,
            true,
          );
        exact = Number(m[2]) === last;
      } else if (res.statusCode === 200) {
        const len = res.headers['content-length'];
        if (len !== undefined && Number(len) !== o.length)
          throw new DownloadError(
            'length_mismatch',
            `the server's image is ${len} bytes, the metadata says ${o.length}`,
            true,
          );
        skip = offset; // no Range support: the whole image comes, the start is already written
        exact = end === undefined || end === o.length - 1;
      } else {
        const status = res.statusCode ?? 0;
        throw new DownloadError(
          'download_failed',
          `image download answered HTTP ${status}`,
          status >= 400 && status < 500 && status !== 408 && status !== 429,
        );
      }
      for (;;) {
        const next = await it.next();
        if (next.done === true) break;
        const c = next.value;
        let chunk = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
        if (skip > 0) {
          const n = Math.min(skip, chunk.byteLength);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.byteLength === 0) continue;
        }
        if (chunk.byteLength >= left) {
          // The last wanted byte. Before handing it on (the consumer stops reading there), see the
          // response end, so its connection goes back to the agent for the next request instead of
          // being destroyed with an unread body.
          // A connection dropping after the last byte loses nothing: the bytes are here.
          if (exact && chunk.byteLength === left) await it.next().catch(() => undefined);
          yield chunk.subarray(0, left);
          return;
        }
        left -= chunk.byteLength;
        yield chunk;
      }
      if (!res.complete) throw new Error('the download connection closed early');
      if (left > 0) throw new Error(`the response ended ${left} bytes short`);
    } finally {
      // A response not read to its end takes its connection with it (the next request opens one).
      if (!res.complete) res.destroy();
      await it.return?.();
    }
  }

  return {
    fetch: fetchFrom,
    stats: () => ({ ...stats }),
    close() {
      closed = true;
      agent.destroy();
    },
  };
}

interface OpenArgs {
  o: RangeFetchOptions;
  agent: Agent;
  trust: DownloadTrust;
  offset: number;
  end: number | undefined;
  idle: number;
  signal: AbortSignal | undefined;
  onSocket(socket: Socket): void;
  stats: RangeFetchStats;
}

/** Sends the request; a kept-alive connection the server closed meanwhile is retried once, new. */
async function open(a: OpenArgs): Promise<IncomingMessage> {
  try {
    return await openOnce(a);
  } catch (err) {
    if ((err as { reusedSocket?: boolean }).reusedSocket !== true || a.signal?.aborted === true)
      throw err;
    return openOnce(a);
  }
}

function openOnce(a: OpenArgs): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (a.signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const url = new URL(a.o.url);
    a.stats.requests++;
    const req: ClientRequest = request(url, {
      method: 'GET',
      headers:
        a.offset > 0 || a.end !== undefined ? { range: `bytes=${a.offset}-${a.end ?? ''}` } : {},
      ca: a.trust.ca,
      cert: a.trust.cert,
      key: a.trust.key,
      minVersion: 'TLSv1.2',
      agent: a.agent,
      timeout: a.idle,
    });
    const onAbort = () => req.destroy(new Error('aborted'));
    a.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket: Socket) => a.onSocket(socket));
    req.on('close', () => a.signal?.removeEventListener('abort', onAbort));
    req.on('timeout', () => req.destroy(new Error(`download from ${url.origin} stalled`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server closed an idle kept-alive connection just as this request went out (a race
      // HTTP/1.1 allows): nothing was answered, so the request may be sent again.
      if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
        Object.assign(err, { reusedSocket: true });
      reject(err);
    });
    req.on('response', resolve);
    req.end();
  });
}

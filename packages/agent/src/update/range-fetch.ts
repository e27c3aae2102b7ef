/**
 * The image download: HTTPS with the device's certificate (mutual TLS) and HTTP Range, streamed (an
 * image never sits in memory whole). A `RangeFetcher` yields the image's bytes from an offset to its
 * end; a dropped connection makes the iteration throw, and the caller resumes at the offset it has
 * durably written. The server's idea of the image length (Content-Range / Content-Length) is
 * checked against the signed metadata before the first byte is yielded.
 */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';

/**
 * The image's bytes from `offset` to `end` inclusive (`Range: bytes=offset-end`), or to the end of
 * the image without `end` (`bytes=offset-`): the shape delta.ts reads through.
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

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** A RangeFetcher over node:https with the device identity. */
export function httpsRangeFetcher(o: RangeFetchOptions): RangeFetcher {
  return async function* fetchFrom(offset, end, signal) {
    const trust = o.trust();
    if (trust === undefined)
      throw new DownloadError('download_failed', 'no device identity to download with', false);
    o.onRequest?.(offset);
    const last = end ?? o.length - 1;
    const res = await open(o, trust, offset, end, signal);
    try {
      let skip = 0;
      let left = last - offset + 1;
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
      } else if (res.statusCode === 200) {
        const len = res.headers['content-length'];
        if (len !== undefined && Number(len) !== o.length)
          throw new DownloadError(
            'length_mismatch',
            `the server's image is ${len} bytes, the metadata says ${o.length}`,
            true,
          );
        skip = offset; // no Range support: the whole image comes, the start is already written
      } else {
        const status = res.statusCode ?? 0;
        throw new DownloadError(
          'download_failed',
          `image download answered HTTP ${status}`,
          status >= 400 && status < 500 && status !== 408 && status !== 429,
        );
      }
      for await (const c of res as AsyncIterable<Buffer>) {
        let chunk = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
        if (skip > 0) {
          const n = Math.min(skip, chunk.byteLength);
          skip -= n;
          chunk = chunk.subarray(n);
          if (chunk.byteLength === 0) continue;
        }
        if (end !== undefined && chunk.byteLength >= left) {
          yield chunk.subarray(0, left); // a 200 with the whole image: stop at the range's end
          return;
        }
        left -= chunk.byteLength;
        yield chunk;
      }
      if (!res.complete) throw new Error('the download connection closed early');
    } finally {
      res.destroy();
    }
  };
}

function open(
  o: RangeFetchOptions,
  trust: DownloadTrust,
  offset: number,
  end: number | undefined,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const url = new URL(o.url);
    const req = request(url, {
      method: 'GET',
      headers: offset > 0 || end !== undefined ? { range: `bytes=${offset}-${end ?? ''}` } : {},
      ca: trust.ca,
      cert: trust.cert,
      key: trust.key,
      minVersion: 'TLSv1.2',
      agent: false,
      timeout: o.idleTimeoutMs ?? 30_000,
    });
    const onAbort = () => req.destroy(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('timeout', () => req.destroy(new Error(`download from ${url.origin} stalled`)));
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
}

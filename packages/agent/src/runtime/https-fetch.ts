/**
 * A `fetch` over node:https that trusts only the given CA and can present a client certificate
 * (mutual TLS for certificate renewal). The SDK takes any fetch; Node's global one cannot be given
 * a CA or a client certificate without undici, which the agent does not depend on.
 */
import { request } from 'node:https';

/** TLS material for one hub. */
export interface HttpsTrust {
  ca: string | string[];
  /** Client certificate chain and key (PEM) for mutual TLS. */
  cert?: string;
  key?: string;
  /** Give up after this many milliseconds (connect and response). */
  timeoutMs?: number;
}

/** Returns a fetch function bound to this trust. Only what the SDK uses is supported. */
export function httpsFetch(trust: HttpsTrust): typeof fetch {
  const f = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      if (url.protocol !== 'https:') {
        reject(new TypeError(`refusing ${url.protocol} (HTTPS only)`));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      const body =
        init.body === undefined || init.body === null
          ? undefined
          : typeof init.body === 'string'
            ? Buffer.from(init.body)
            : Buffer.from(init.body as Uint8Array);
      if (body !== undefined) headers['content-length'] = String(body.byteLength);
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          ca: trust.ca,
          ...(trust.cert !== undefined ? { cert: trust.cert } : {}),
          ...(trust.key !== undefined ? { key: trust.key } : {}),
          minVersion: 'TLSv1.2',
          // No pooling: enrollment and renewal are rare, and an idle pooled socket would keep the
          // process (and a hub's connection count) busy for nothing.
          agent: false,
          timeout: trust.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v === undefined) continue;
              for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
            }
            const status = res.statusCode ?? 500;
            const buf = Buffer.concat(chunks);
            resolve(
              new Response(status === 204 || status === 304 ? null : buf, {
                status,
                statusText: res.statusMessage ?? '',
                headers: h,
              }),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request to ${url.origin} timed out`)));
      req.on('error', reject);
      init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      req.end(body);
    });
  return f;
}

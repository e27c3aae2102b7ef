/**
 * The browser session's refresh cookie (decision 0038, amendment of 2026-12-07). A request that
 * says `X-Bulwark-Session: cookie` gets its refresh token as an HttpOnly `__Host-` cookie instead
 * of in the JSON body, and may refresh or log out with that cookie. Using the cookie needs the
 * header (a cross-site form or a simple request cannot send it) and, when the browser sends an
 * `Origin`, that it is the hub's own; `SameSite=Strict` keeps the cookie off cross-site requests
 * in the first place. API clients, which never send the header, are unchanged.
 */
import type { FastifyRequest } from 'fastify';
import { BulwarkError } from '@bulwark/protocol';

export const REFRESH_COOKIE = '__Host-bulwark_refresh';
export const SESSION_HEADER = 'x-bulwark-session';

/** What the auth handlers know of the browser side of a request. */
export interface WebSession {
  /** The request asked for a cookie session (`X-Bulwark-Session: cookie`). */
  readonly cookieMode: boolean;
  /** The refresh cookie's value, if the browser sent one. */
  readonly cookie: string | undefined;
  /** The `Origin` header, if any. */
  readonly origin: string | undefined;
  /** This hub's origin as the browser addressed it (scheme and `Host`). */
  readonly ownOrigin: string;
  /** `Set-Cookie` values for the answer (sent with errors too). */
  readonly setCookies: string[];
}

/** One cookie's value from a `Cookie` header (the first of that name), else undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The browser side of a request, as the auth handlers see it. */
export function webSession(req: FastifyRequest): WebSession {
  const h = req.headers;
  const origin = typeof h.origin === 'string' ? h.origin : undefined;
  return {
    cookieMode: h[SESSION_HEADER] === 'cookie',
    cookie: readCookie(h.cookie, REFRESH_COOKIE),
    origin,
    // The browser sets both Host and Origin; a page elsewhere cannot make them agree.
    ownOrigin: `${req.protocol}://${h.host ?? ''}`,
    setCookies: [],
  };
}

/**
 * Refuses a cookie-mode request that a cross-site page could have made: one without the header,
 * or whose Origin is another site's.
 */
export function checkCookieRequest(web: WebSession): void {
  if (!web.cookieMode) throw new BulwarkError('session_header_required');
  if (web.origin !== undefined && web.origin !== web.ownOrigin)
    throw new BulwarkError('origin_mismatch', `Origin ${web.origin.slice(0, 200)} is not this hub`);
}

/** Sets the refresh cookie for `maxAgeSeconds`. */
export function setRefreshCookie(web: WebSession, token: string, maxAgeSeconds: number): void {
  web.setCookies.push(
    `${REFRESH_COOKIE}=${token}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; Path=/; Secure; HttpOnly; SameSite=Strict`,
  );
}

/** Tells the browser to drop the refresh cookie. */
export function clearRefreshCookie(web: WebSession): void {
  web.setCookies.push(`${REFRESH_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict`);
}

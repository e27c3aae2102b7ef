/**
 * Headers every HTTP response carries (issue 11): the API is for programs and the console, never
 * for framing, sniffing or caching by intermediaries.
 */
import type { FastifyReply } from 'fastify';

const HEADERS: Readonly<Record<string, string>> = {
  // RFC 6797: browsers that once reached the hub over HTTPS never try plain HTTP for a year.
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  // JSON stays JSON: no MIME sniffing into something a browser would run.
  'x-content-type-options': 'nosniff',
  // No framing (clickjacking): the old header for old browsers, CSP frame-ancestors for the rest.
  'x-frame-options': 'DENY',
  // API answers are data, never documents: nothing in them may load or run anything. (The console,
  // when served, gets its own policy.)
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  // Ids in URLs (devices, jobs, tenants) do not leak to other sites through Referer.
  'referrer-policy': 'no-referrer',
};

/**
 * Sets the security headers on a reply, and `Cache-Control: no-store` unless the route chose its
 * own caching: answers carry tenant data and tokens that no shared cache may keep.
 */
export function setSecurityHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(HEADERS)) {
    // The console's pages and assets carry their own policy (console.ts).
    if (name === 'content-security-policy' && reply.hasHeader(name)) continue;
    reply.header(name, value);
  }
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}

/**
 * The web console (decision 0038), served from the API's origin: its hashed assets under
 * /assets/ (cached for a year, immutable), index.html at / and for every client-side route a
 * browser asks for, under a strict Content-Security-Policy (no inline script or style). API routes
 * and their 404s are untouched: only GET/HEAD requests outside /api/ that accept HTML and name no
 * file fall back to the page.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The console's policy: its own scripts, styles and API calls; nothing inline, no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT =
  'The Bulwark web console is not built in this installation.\n' +
  'Build it at the repository root with `npm run build` (or `npm run build:console`), then reload ' +
  'this page. The REST API is served under /api/v1 either way.\n';

function consoleHeaders(reply: FastifyReply, cacheControl: string): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('cache-control', cacheControl);
}

/** Is this request for a page of the console (a client-side route), rather than the API or a file? */
export function isConsolePage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = req.url.split('?')[0] ?? '';
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/assets/')) return false;
  if (/\.[A-Za-z0-9]+$/.test(path)) return false;
  return (req.headers.accept ?? '').includes('text/html');
}

/**
 * Registers the console's routes on the app; returns the page handler, which the app's not-found
 * handler calls for client-side routes. index.html is read per request (a rebuilt console shows
 * without a restart); when it is missing the page says how to build it.
 */
export async function registerConsole(
  app: FastifyInstance,
  dir: string,
): Promise<(req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>> {
  const assets = join(dir, 'assets');
  if (existsSync(assets)) {
    await app.register(async (scope) => {
      // After the app's own onSend (which set the API's headers): a file found is the console's,
      // cached for a year (its name carries a hash of its content); a 404 stays an API problem.
      scope.addHook('onSend', async (_req, reply, payload) => {
        if (reply.statusCode < 400) consoleHeaders(reply, 'public, max-age=31536000, immutable');
        return payload;
      });
      await scope.register(fastifyStatic, {
        root: assets,
        prefix: '/assets/',
        wildcard: true,
        index: false,
        list: false,
        dotfiles: 'deny',
        cacheControl: false,
        decorateReply: false,
      });
    });
  }
  const page = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const html = await readFile(join(dir, 'index.html')).catch(() => null);
    if (html === null) {
      consoleHeaders(reply, 'no-store');
      return reply.code(404).type('text/plain; charset=utf-8').send(NOT_BUILT);
    }
    // Always revalidated: it names the current hashed assets.
    consoleHeaders(reply, 'no-cache');
    return reply.code(200).type('text/html; charset=utf-8').send(html);
  };
  app.get('/', page);
  return page;
}

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Io } from '@bulwark/cli';

/** An Io that captures output, with the given env and working directory. */
export function captureIo(env: Record<string, string | undefined> = {}, cwd = process.cwd()) {
  const io = { stdout: '', stderr: '' };
  const value: Io = {
    out: (t) => void (io.stdout += t),
    err: (t) => void (io.stderr += t),
    env,
    cwd,
    stdin: process.stdin,
  };
  return Object.assign(io, { io: value });
}

/** A plain-HTTP stand-in for the hub: answers each `METHOD /path` from `routes`, records requests. */
export async function fakeHub(
  routes: Record<string, { status: number; body?: unknown; type?: string }>,
) {
  const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization,
        body,
      });
      const path = (req.url ?? '').split('?')[0] ?? '';
      const r = routes[`${req.method ?? ''} ${path}`];
      if (r === undefined) {
        res.writeHead(404, { 'content-type': 'application/problem+json' });
        res.end(
          JSON.stringify({ status: 404, detail: `no route ${path}`, code: 'route_not_found' }),
        );
        return;
      }
      const type = r.type ?? 'application/json';
      res.writeHead(r.status, r.body === undefined ? {} : { 'content-type': type });
      res.end(
        r.body === undefined
          ? undefined
          : type.includes('json')
            ? JSON.stringify(r.body)
            : typeof r.body === 'string'
              ? r.body
              : JSON.stringify(r.body),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `firmware sign fw.img --keys keys --type TYPE --version VERSION …more` (run in a dir holding both). */
export const firmwareSignArgs = (type: string, version: string, ...more: string[]): string[] => [
  'firmware',
  'sign',
  'fw.img',
  '--keys',
  'keys',
  '--type',
  type,
  '--version',
  version,
  ...more,
];

/**
 * The site's devices for the firmware namespace test, run inside the site namespace: argv[2] names
 * a JSON file (port, ca, path, devices' TLS material). Every device downloads the image from the
 * gateway's cache at once, each over its own TLS connection with its own certificate; the first
 * one then downloads it again in two ranges (a resumed download). Prints one JSON line: statuses,
 * sha256s, the time for all and the resumed download's sha256.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

interface Dev {
  keyPem: string;
  certPem: string;
  chain: string[];
}
const o = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as {
  port: number;
  ca: string;
  path: string;
  devices: Dev[];
};

function get(dev: Dev, range?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve) => {
    const agent = new Agent({ keepAlive: false });
    const req = request(
      {
        host: '127.0.0.1',
        port: o.port,
        path: o.path,
        ca: o.ca,
        key: dev.keyPem,
        cert: dev.certPem + (dev.chain[0] ?? ''),
        agent,
        headers: range === undefined ? {} : { range },
        timeout: 60_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // Refused in the handshake (e.g. before the gateway's first site sync): status 0.
    req.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    req.end();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const t0 = performance.now();
const all = await Promise.all(o.devices.map((d) => get(d)));
const ms = Math.round(performance.now() - t0);
const first = o.devices[0]!;
const head = await get(first, 'bytes=0-99999');
const rest = await get(first, 'bytes=100000-');
process.stdout.write(
  `${JSON.stringify({
    statuses: all.map((r) => r.status),
    shas: [...new Set(all.map((r) => sha(r.body)))],
    ms,
    resumed: [head.status, rest.status, sha(Buffer.concat([head.body, rest.body]))],
  })}\n`,
);
process.exit(0);

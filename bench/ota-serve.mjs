// Artifact serving throughput for `npm run bench:ota`: the same file fetched over TLS from the hub's
// firmware image route and from a plain static TLS server (Debian's nginx in one process, master_process off, as
// the hub is one Node process), by one client with a bounded number of keep-alive connections.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { selfSignedCert } from './self-signed.mjs';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** A free loopback port (nginx cannot bind port 0 and tell us which it got). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts nginx serving `file` over TLS on 127.0.0.1 from its own prefix under `dir` (self-signed
 * P-256 certificate made here). Returns { url, ca, stop } or undefined when nginx is not installed.
 */
export async function startNginxTls(file, dir) {
  if (NGINX === undefined) return undefined;
  const www = join(dir, 'www');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(www, { recursive: true });
  copyFileSync(file, join(www, 'image.bin'));
  const { certFile: cert, keyFile: key } = selfSignedCert(dir, { days: 1 });
  const port = await freePort();
  const t = join(dir, 'tmp');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
${process.getuid?.() === 0 ? 'user root;' : ''}
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} error;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t};
  uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${www};
  }
}
`,
  );
  const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const url = `https://127.0.0.1:${port}/image.bin`;
  const ca = readFileSync(cert, 'utf8');
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      const d = new Agent({ connect: { ca } });
      const r = await request(url, { dispatcher: d, method: 'HEAD' });
      await r.body.dump();
      await d.close();
      if (r.statusCode === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > until || proc.exitCode !== null) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    ca,
    pid: proc.pid,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/**
 * Downloads `url` `total` times over at most `concurrency` keep-alive TLS connections, checking
 * every body's SHA-256. Returns { seconds, mibPerSecond, perSecond, p50Ms, p99Ms }.
 */
export async function measureDownloads({ url, ca, headers = {}, concurrency, total, sha256 }) {
  const dispatcher = new Agent({ connect: { ca }, connections: concurrency, pipelining: 1 });
  const times = [];
  let bytes = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      next += 1;
      const s = performance.now();
      const r = await request(url, { dispatcher, headers });
      const h = createHash('sha256');
      for await (const chunk of r.body) {
        h.update(chunk);
        bytes += chunk.length;
      }
      if (r.statusCode !== 200) throw new Error(`${url}: HTTP ${r.statusCode}`);
      if (h.digest('hex') !== sha256) throw new Error(`${url}: body hash mismatch`);
      times.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await dispatcher.close();
  times.sort((a, b) => a - b);
  return {
    seconds,
    mibPerSecond: bytes / 1048576 / seconds,
    perSecond: total / seconds,
    p50Ms: times[Math.floor(times.length / 2)],
    p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))],
  };
}

/** CPU seconds (user + system) and RSS (bytes) of a process, from /proc. */
export function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rssPages = Number(f[21]);
  return { cpuSeconds: ticks / 100, rss: rssPages * 4096 };
}

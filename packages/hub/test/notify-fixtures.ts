/**
 * Real receivers for notification tests (decision 0030): an SMTP server (Debian's aiosmtpd) on
 * loopback that writes each message it accepts to a directory, and an HTTPS server with a
 * certificate from a CA made for the run, recording each request. Nothing leaves loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalCa } from './external-ca.js';

/** Debian's python has aiosmtpd (python3-aiosmtpd); a pyenv shim first in PATH may not. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const SINK = `
import asyncio, os, sys, time
from aiosmtpd.controller import Controller

class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.out, '%06d.eml' % self.n)
        with open(path + '.tmp', 'wb') as f:
            f.write(('X-Rcpt: %s\\r\\n' % ','.join(envelope.rcpt_tos)).encode())
            f.write(envelope.content)
        os.rename(path + '.tmp', path)
        return '250 Message accepted'

c = Controller(Sink(sys.argv[1]), hostname='127.0.0.1', port=int(sys.argv[2]))
c.start()
print('ready', flush=True)
try:
    sys.stdin.read()
finally:
    c.stop()
`;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

/** A running SMTP sink. */
export interface SmtpSink {
  port: number;
  /** The messages received so far, oldest first (raw RFC 5322 text, with an X-Rcpt line). */
  messages(): string[];
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-smtp-'));
  writeFileSync(join(dir, 'sink.py'), SINK);
  const out = join(dir, 'out');
  mkdirSync(out);
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, [join(dir, 'sink.py'), out, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  // Up to 15 s for python to start and listen.
  for (let i = 0; i < 150 && !(await canConnect(port)); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await canConnect(port))) {
    child.kill('SIGKILL');
    throw new Error(`the aiosmtpd sink did not start (is python3-aiosmtpd installed?):\n${log}`);
  }
  return {
    port,
    messages: () =>
      readdirSync(out)
        .filter((f) => f.endsWith('.eml'))
        .sort()
        .map((f) => readFileSync(join(out, f), 'utf8')),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.stdin!.end();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One request the HTTPS receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A running HTTPS receiver: `status` per path decides the answer (default 204). */
export interface HttpsReceiver {
  url: string;
  /** The CA that issued its certificate (PEM): what the hub must be told to trust. */
  caPem: string;
  received: Received[];
  status: Map<string, number>;
  close(): Promise<void>;
}

export async function startHttpsReceiver(): Promise<HttpsReceiver> {
  const ca = externalCa();
  const cert = ca.issue('receiver');
  const received: Received[] = [];
  const status = new Map<string, number>();
  const server: Server = createHttpsServer(
    { cert: readFileSync(cert.fullchain), key: readFileSync(cert.key) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = status.get(path) ?? 204;
        res.end();
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: readFileSync(ca.root, 'utf8'),
    received,
    status,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      ca.remove();
    },
  };
}

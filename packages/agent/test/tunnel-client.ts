/**
 * A bare operator leg for the remote-access tests (decision 0042): dial a relay session, TLS
 * inside it with the pin checked, read the device's banner, present any ticket. `bulwark connect`
 * does the same (cli/src/connect/tunnel.ts); this one lets a test present the wrong ticket.
 */
import { request } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** Dials a leg; resolves with the socket after 101, or rejects with the problem's code. */
export function dialLeg(o: {
  url: string;
  path: string;
  secret: string;
  ca: string;
  bearer?: string;
  cert?: string;
  key?: string;
}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(o.path, o.url), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'bulwark-relay/1',
        'x-bulwark-relay-secret': o.secret,
        ...(o.bearer ? { authorization: `Bearer ${o.bearer}` } : {}),
      },
      ca: o.ca,
      ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      agent: false,
      timeout: 10_000,
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const code = (() => {
          try {
            return (JSON.parse(body) as { code?: string }).code ?? String(res.statusCode);
          } catch {
            return String(res.statusCode);
          }
        })();
        reject(Object.assign(new Error(`refused: ${code} ${body}`), { code }));
      });
    });
    req.on('timeout', () => req.destroy(new Error('relay timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Reads lines from a socket. */
export class Lines {
  #buf = '';
  #waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly socket: Socket | TLSSocket) {
    socket.on('data', (c: Buffer) => {
      this.#buf += c.toString('utf8');
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  async line(ms = 10_000): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl !== -1) {
        const l = this.#buf.slice(0, nl).replace(/\r$/, '');
        this.#buf = this.#buf.slice(nl + 1);
        return l;
      }
      if (this.closed) throw new Error('closed');
      if (Date.now() > until) throw new Error(`no line within ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  /** Everything received so far that is not consumed as a line. */
  get rest(): string {
    return this.#buf;
  }
}

/** TLS to the device inside a relayed socket; resolves with the socket and the peer fingerprint. */
export async function tlsInside(raw: Socket): Promise<{ tls: TLSSocket; fingerprint: string }> {
  const tls = tlsConnect({
    socket: raw,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', () => resolve());
    tls.once('error', reject);
  });
  const fingerprint = (tls.getPeerCertificate().fingerprint256 ?? '')
    .replace(/:/g, '')
    .toLowerCase();
  return { tls, fingerprint };
}

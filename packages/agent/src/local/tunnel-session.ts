/**
 * A relayed session to a raw target — a TCP port on the device's loopback or the serial
 * peripheral (decision 0042) — on the device's end of the end-to-end TLS stream:
 *
 *   device: BULWARK-TUNNEL 1 device=<id> target=<tcp:22|serial>
 *   client: ticket <jws>
 *   device: OK ticket accepted perm=<perm> target=<target>   |  ERR <code> <message>
 *
 * after the OK the stream carries the target's bytes both ways until either side closes. Sessions
 * to the local management protocol use LocalSession instead.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AccessTicketClaims, TwinValue } from '@bulwark/protocol';
import type { LocalPortHost } from '../ports.js';
import { admitTicket, TicketStorageError } from './admit.js';
import { LineSplitter } from './lines.js';
import type { SerialLink } from './serial.js';
import type { LocalPortLimits } from './session.js';
import { TicketRefusal } from './ticket.js';
import type { UsedTickets } from './used-tickets.js';

/** What a raw session needs. */
export interface TunnelSessionDeps {
  host: LocalPortHost;
  used: UsedTickets;
  limits: LocalPortLimits;
  target: string;
  /** Opens the serial peripheral (for target `serial`). */
  openSerial: () => Promise<SerialLink>;
  id: string;
  remote: string;
}

// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const oneLine = (s: string) => s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();

/** One relayed session to a TCP port or the serial peripheral. */
export class TunnelSession {
  #lines: LineSplitter;
  #claims: AccessTicketClaims | undefined;
  #closed = false;
  #target: { close(): void } | undefined;
  #bytes = { toTarget: 0, fromTarget: 0 };
  #timers: NodeJS.Timeout[] = [];
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(
    private readonly socket: Duplex,
    private readonly d: TunnelSessionDeps,
  ) {
    this.#lines = new LineSplitter(d.limits.maxLineBytes);
    this.closed = new Promise((r) => (this.#resolveClosed = r));
  }

  start(): void {
    const { socket, d } = this;
    socket.on('data', this.#onTicketData);
    socket.on('error', () => this.close('socket_error'));
    socket.on('close', () => this.close('client'));
    const timer = (ms: number, fn: () => void) => {
      const t = setTimeout(fn, ms);
      t.unref();
      this.#timers.push(t);
    };
    timer(d.limits.ticketTimeoutMs, () => {
      if (this.#claims) return;
      this.#report('warning', 'refused', { code: 'ticket_timeout' });
      this.#write('ERR ticket_timeout no accepted ticket in time; closing');
      this.close('ticket_timeout');
    });
    timer(d.limits.maxSessionMs, () => this.close('max_duration'));
    this.#write(`BULWARK-TUNNEL 1 device=${d.host.deviceId} target=${d.target}`);
  }

  /** Closes the session and its target (idempotent), reporting it when it was open. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#target?.close();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    if (this.#claims) this.#report('info', 'closed', { reason, ...this.#bytes });
    this.#resolveClosed();
  }

  #write(line: string): void {
    if (!this.#closed) this.socket.write(`${line}\r\n`);
  }

  #report(severity: 'info' | 'warning', action: string, extra: Record<string, TwinValue>): void {
    const c = this.#claims;
    this.d.host.report({
      kind: 'local_session',
      severity,
      at: new Date(this.d.host.clock.now()).toISOString(),
      detail: {
        action,
        session: this.d.id,
        remote: this.d.remote,
        target: this.d.target,
        ...(c ? { jti: c.jti, perm: c.perm, by: c.by } : {}),
        ...extra,
      },
    });
  }

  readonly #onTicketData = (chunk: Buffer): void => {
    this.#lines.push(chunk);
    const line = this.#lines.next();
    if (line === undefined) {
      if (this.#lines.overflowed) {
        this.#write('ERR line_too_long the ticket line is too long');
        this.close('line_too_long');
      }
      return;
    }
    this.socket.off('data', this.#onTicketData);
    this.socket.pause();
    void this.#admit(line.trim());
  };

  async #admit(line: string): Promise<void> {
    const space = line.indexOf(' ');
    const word = space === -1 ? line : line.slice(0, space);
    const jws = space === -1 ? '' : line.slice(space + 1).trim();
    const { host, used, limits, target } = this.d;
    try {
      if (word.toLowerCase() !== 'ticket')
        throw new TicketRefusal('ticket_required', 'send "ticket <ticket>" first');
      this.#claims = await admitTicket(jws, {
        host,
        used,
        clockSkewSeconds: limits.clockSkewSeconds,
        target,
      });
    } catch (err) {
      const code =
        err instanceof TicketRefusal
          ? err.code
          : err instanceof TicketStorageError
            ? 'storage_failed'
            : 'internal';
      this.#write(`ERR ${code} ${oneLine((err as Error).message)}`);
      this.#report('warning', 'refused', { code });
      this.close(code);
      return;
    }
    // A raw target has no commands: operate or admin (the hub refuses to issue read for one).
    if (this.#claims.perm === 'read') {
      this.#write('ERR permission_denied a raw tunnel needs a ticket of level operate or admin');
      this.#report('warning', 'denied', { command: target });
      this.close('permission_denied');
      return;
    }
    try {
      await this.#openTarget();
    } catch (err) {
      const message = oneLine((err as Error).message);
      this.#write(`ERR target_unavailable ${message}`);
      this.#report('warning', 'refused', { code: 'target_unavailable', error: message });
      this.close('target_unavailable');
      return;
    }
  }

  async #openTarget(): Promise<void> {
    const { target } = this.d;
    let input: Duplex | NodeJS.ReadableStream;
    let output: NodeJS.WritableStream;
    if (target === 'serial') {
      const link = await this.d.openSerial();
      this.#target = link;
      input = link.input;
      output = link.output;
    } else {
      const port = Number(target.slice('tcp:'.length));
      const tcp = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      tcp.setNoDelay(true);
      this.#target = { close: () => tcp.destroy() };
      tcp.on('error', () => this.close('target_error'));
      tcp.on('close', () => this.close('target_closed'));
      input = tcp;
      output = tcp;
    }
    if (this.#closed) {
      this.#target?.close();
      return;
    }
    this.#report('info', 'opened', {
      expiresAt: new Date((this.#claims?.exp ?? 0) * 1000).toISOString(),
    });
    this.#write(`OK ticket accepted perm=${this.#claims?.perm ?? '?'} target=${target}`);
    const early = this.#lines.drain();
    if (early.length > 0) {
      this.#bytes.toTarget += early.length;
      output.write(early);
    }
    input.on('data', (b: Buffer) => {
      this.#bytes.fromTarget += b.length;
      if (!this.socket.write(b)) {
        (input as Duplex).pause();
        this.socket.once('drain', () => (input as Duplex).resume());
      }
    });
    input.on('end', () => this.close('target_closed'));
    this.socket.on('data', (b: Buffer) => {
      this.#bytes.toTarget += b.length;
      if (!output.write(b)) {
        this.socket.pause();
        output.once('drain', () => this.socket.resume());
      }
    });
    this.socket.resume();
  }
}

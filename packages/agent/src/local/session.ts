/**
 * One session of the local management port, on any Duplex (a TLS socket in production; the
 * protocol does not care). Line protocol, one request per line, one reply line per request:
 *
 *   server: BULWARK-LOCAL 1 device=<id> ...          (banner)
 *   client: ticket <jws>                             (first: a one-time access ticket)
 *   server: OK ticket accepted perm=<perm> ...  |  ERR <code> <message>
 *   client: get PATH | set PATH VALUE | list [PREFIX] | reboot | factory-reset confirm
 *         | passthrough | help | quit
 *   server: OK [result]  |  ERR <code> <message>
 *
 * `passthrough` switches the session to raw bytes to and from the serial peripheral until the
 * client sends a line `~.`; then it answers `OK passthrough ended …` and reads commands again.
 */
import type { Duplex } from 'node:stream';
import { TICKET_PERMISSIONS, type AccessTicketClaims, type TwinValue } from '@bulwark/protocol';
import type { LocalPortHost } from '../ports.js';
import { EscapeScanner, LineSplitter } from './lines.js';
import type { SerialLink } from './serial.js';
import { admitTicket, TicketStorageError } from './admit.js';
import { TicketRefusal } from './ticket.js';
import type { UsedTickets } from './used-tickets.js';

/** The limits of the local port; each bounds what one client can make the device do or hold. */
export interface LocalPortLimits {
  /** Longest line, in bytes (a ticket is under 1 KiB; a `set` value may be a small JSON object). */
  maxLineBytes: number;
  /** A session without traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** A session is closed after this long whatever it does (a ticket admits one working session). */
  maxSessionMs: number;
  /** Concurrent sessions; more are refused (`ERR busy`), so a flood cannot starve the device. */
  maxSessions: number;
  /**
   * A session must present an accepted ticket within this, so idle strangers on the LAN cannot
   * hold the few session slots for the whole idle timeout.
   */
  ticketTimeoutMs: number;
  /** Refused tickets in one session before it is closed (a guessing client gains nothing by staying). */
  maxTicketFailures: number;
  /** A TLS handshake must finish within this. */
  handshakeTimeoutMs: number;
  /** Clock difference between hub and device tolerated on a ticket's iat/exp, in seconds. */
  clockSkewSeconds: number;
}

export const DEFAULT_LOCAL_PORT_LIMITS: LocalPortLimits = {
  maxLineBytes: 8192,
  idleTimeoutMs: 5 * 60_000,
  maxSessionMs: 60 * 60_000,
  maxSessions: 4,
  ticketTimeoutMs: 60_000,
  maxTicketFailures: 3,
  handshakeTimeoutMs: 10_000,
  clockSkewSeconds: 60,
};

/** What a session needs from its server. */
export interface SessionDeps {
  host: LocalPortHost;
  used: UsedTickets;
  limits: LocalPortLimits;
  /** The serial device `passthrough` forwards to, if one is configured. */
  serialDevice: string | undefined;
  openSerial: (path: string) => Promise<SerialLink>;
  id: string;
  /** The client's address, for the record. */
  remote: string;
}

type Mode = 'ticket' | 'commands' | 'passthrough' | 'closed';

const PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const ALWAYS = ['help', 'quit'];
/** One line: control characters replaced, so a host's error message cannot break the protocol. */
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const oneLine = (s: string) => s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();

/** One client connection to the local port. */
export class LocalSession {
  #mode: Mode = 'ticket';
  #claims: AccessTicketClaims | undefined;
  #failures = 0;
  #busy = false;
  #commands = 0;
  #lines: LineSplitter;
  #escape: EscapeScanner | undefined;
  #serial: SerialLink | undefined;
  #bytes = { toSerial: 0, fromSerial: 0 };
  #lifetime: NodeJS.Timeout | undefined;
  #ticketTimer: NodeJS.Timeout | undefined;
  #closeReason = 'client';
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  /** Runs after the session is closed and its socket gone (reboot, factory reset). */
  #afterClose: (() => Promise<void>) | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly d: SessionDeps,
  ) {
    this.#lines = new LineSplitter(d.limits.maxLineBytes);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Greets the client and starts reading. */
  start(): void {
    const { socket, d } = this;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.close('socket_error'));
    socket.on('close', () => this.close(this.#closeReason));
    socket.on('end', () => this.close('client'));
    this.#lifetime = setTimeout(() => {
      this.#reply('ERR session_expired the session lasted its maximum time; start a new one');
      this.close('max_duration');
    }, d.limits.maxSessionMs);
    this.#lifetime.unref();
    this.#ticketTimer = setTimeout(() => {
      if (this.#mode !== 'ticket') return;
      this.#reply('ERR ticket_timeout no accepted ticket in time; closing');
      this.#report('warning', 'refused', { code: 'ticket_timeout' });
      this.close('ticket_timeout');
    }, d.limits.ticketTimeoutMs);
    this.#ticketTimer.unref();
    this.#reply(
      `BULWARK-LOCAL 1 device=${d.host.deviceId} ready; send "ticket <ticket>" (issue one with: bulwark ticket issue ${d.host.deviceId} --perm read|operate|admin)`,
    );
  }

  /** Closes the session (idempotent) and reports it. */
  close(reason: string): void {
    if (this.#mode === 'closed') return;
    const wasOpen = this.#claims !== undefined;
    this.#mode = 'closed';
    clearTimeout(this.#lifetime);
    clearTimeout(this.#ticketTimer);
    this.#serial?.close();
    this.#serial = undefined;
    this.socket.end();
    // Give the last reply a moment to leave, then make sure the socket is gone.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    if (wasOpen) {
      this.#report('info', 'closed', { reason, commands: this.#commands });
    }
    this.#resolveClosed();
    const after = this.#afterClose;
    this.#afterClose = undefined;
    if (after) void after().catch(() => undefined);
  }

  #reply(line: string): void {
    if (this.#mode === 'closed') return;
    this.socket.write(`${line}\r\n`);
  }

  #report(
    severity: 'info' | 'warning' | 'critical',
    action: string,
    extra: Record<string, TwinValue>,
  ): void {
    const c = this.#claims;
    this.d.host.report({
      kind: 'local_session',
      severity,
      at: new Date(this.d.host.clock.now()).toISOString(),
      detail: {
        action,
        session: this.d.id,
        remote: this.d.remote,
        ...(c ? { jti: c.jti, perm: c.perm, by: c.by, backup: c.backup === true } : {}),
        ...extra,
      },
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#mode === 'closed') return;
    if (this.#mode === 'passthrough') {
      this.#fromClientRaw(chunk);
      return;
    }
    this.#lines.push(chunk);
    void this.#drainLines();
  }

  /** Handles buffered lines one by one; the socket is paused while a command runs. */
  async #drainLines(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.socket.pause();
    try {
      for (;;) {
        if (this.#mode !== 'ticket' && this.#mode !== 'commands') return;
        const line = this.#lines.next();
        if (line === undefined) {
          if (this.#lines.overflowed) {
            this.#reply(
              `ERR line_too_long a line may be at most ${this.d.limits.maxLineBytes} bytes`,
            );
            this.close('line_too_long');
          }
          return;
        }
        if (line.length > this.d.limits.maxLineBytes) {
          this.#reply(
            `ERR line_too_long a line may be at most ${this.d.limits.maxLineBytes} bytes`,
          );
          this.close('line_too_long');
          return;
        }
        await this.#handleLine(line.trim());
      }
    } catch (err) {
      this.#reply(`ERR internal ${oneLine(err instanceof Error ? err.message : String(err))}`);
      this.close('internal_error');
    } finally {
      this.#busy = false;
      if (this.#mode !== 'closed') this.socket.resume();
    }
  }

  async #handleLine(line: string): Promise<void> {
    if (line === '') return;
    const space = line.indexOf(' ');
    const word = (space === -1 ? line : line.slice(0, space)).toLowerCase();
    const rest = space === -1 ? '' : line.slice(space + 1).trim();
    if (this.#mode === 'ticket') {
      if (word === 'ticket') return this.#admit(rest);
      if (word === 'quit') return this.#quit();
      if (word === 'help') {
        this.#reply('OK send "ticket <ticket>" first; then "help" lists what the ticket allows');
        return;
      }
      return this.#refuse(
        new TicketRefusal('ticket_required', 'send "ticket <ticket>" before any command'),
      );
    }
    if (word === 'ticket') {
      this.#reply('ERR already_authenticated this session already holds a ticket');
      return;
    }
    const claims = this.#claims;
    if (!claims) throw new Error('no ticket in command mode');
    const allowed = TICKET_PERMISSIONS[claims.perm];
    if (!ALWAYS.includes(word) && !COMMANDS.has(word)) {
      this.#reply(`ERR unknown_command '${oneLine(word).slice(0, 40)}'; "help" lists the commands`);
      return;
    }
    if (!ALWAYS.includes(word) && !allowed.includes(word)) {
      this.#reply(
        `ERR permission_denied '${word}' needs a ticket of level ${levelsFor(word)}; this one is '${claims.perm}'`,
      );
      this.#report('warning', 'denied', { command: word });
      return;
    }
    this.#commands++;
    switch (word) {
      case 'help':
        this.#reply(`OK commands: ${[...allowed.map(usage), 'help', 'quit'].join(', ')}`);
        return;
      case 'quit':
        return this.#quit();
      case 'get':
        return this.#get(rest);
      case 'list':
        return this.#list(rest);
      case 'set':
        return this.#set(rest);
      case 'reboot':
        return this.#reboot();
      case 'factory-reset':
        return this.#factoryReset(rest);
      case 'passthrough':
        return this.#passthrough();
    }
  }

  #quit(): void {
    this.#reply('OK bye');
    this.close('quit');
  }

  /** Admits the session's ticket, or refuses it precisely. */
  async #admit(jws: string): Promise<void> {
    const { host, used, limits } = this.d;
    let claims: AccessTicketClaims;
    try {
      claims = await admitTicket(jws, {
        host,
        used,
        clockSkewSeconds: limits.clockSkewSeconds,
        target: 'local',
      });
    } catch (err) {
      if (err instanceof TicketStorageError) {
        this.#reply(
          `ERR storage_failed the ticket's use cannot be recorded (${oneLine(err.message)}); the ticket is spent`,
        );
        this.#report('warning', 'refused', { code: 'storage_failed' });
        this.close('storage_failed');
        return;
      }
      if (!(err instanceof TicketRefusal)) throw err;
      this.#refuse(err);
      return;
    }
    this.#claims = claims;
    this.#mode = 'commands';
    clearTimeout(this.#ticketTimer);
    this.#report('info', 'opened', { expiresAt: new Date(claims.exp * 1000).toISOString() });
    this.#reply(
      `OK ticket accepted perm=${claims.perm} by=${claims.by}; commands: ${[...TICKET_PERMISSIONS[claims.perm].map(usage), 'help', 'quit'].join(', ')}`,
    );
  }

  #refuse(err: TicketRefusal): void {
    this.#failures++;
    this.#reply(`ERR ${err.code} ${oneLine(err.message)}`);
    this.#report('warning', 'refused', { code: err.code, failures: this.#failures });
    if (this.#failures >= this.d.limits.maxTicketFailures) {
      this.#reply(`ERR too_many_failures ${this.#failures} refused tickets; closing`);
      this.close('too_many_failures');
    }
  }

  #get(path: string): void {
    if (!PATH.test(path)) {
      this.#reply('ERR invalid_path usage: get PATH (a dotted path such as logging.level)');
      return;
    }
    const value = this.d.host.getParam(path);
    if (value === undefined) this.#reply(`ERR not_found no parameter '${path}'`);
    else this.#reply(`OK ${JSON.stringify(value)}`);
  }

  #list(prefix: string): void {
    if (prefix !== '' && !PATH.test(prefix)) {
      this.#reply('ERR invalid_path usage: list [PREFIX] (a dotted path such as logging)');
      return;
    }
    const all = this.d.host.listParams();
    const picked = Object.fromEntries(
      Object.entries(all)
        .filter(([k]) => prefix === '' || k === prefix || k.startsWith(`${prefix}.`))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    this.#reply(`OK ${JSON.stringify(picked)}`);
  }

  async #set(args: string): Promise<void> {
    const space = args.indexOf(' ');
    const path = space === -1 ? args : args.slice(0, space);
    const text = space === -1 ? '' : args.slice(space + 1).trim();
    if (!PATH.test(path) || text === '') {
      this.#reply('ERR invalid_arguments usage: set PATH VALUE (VALUE: JSON, or a bare string)');
      return;
    }
    let value: TwinValue;
    try {
      value = JSON.parse(text) as TwinValue;
    } catch {
      value = text;
    }
    try {
      await this.d.host.setParam(path, value);
    } catch (err) {
      const message = oneLine(err instanceof Error ? err.message : String(err));
      // A security setting the host refuses to change locally: its own code, and reported.
      const code = (err as { code?: unknown }).code === 'read_only' ? 'read_only' : 'set_failed';
      this.#reply(`ERR ${code} ${path}: ${message}`);
      this.#report('warning', code === 'read_only' ? 'denied' : 'command', {
        command: 'set',
        path,
        ok: false,
        error: message,
      });
      return;
    }
    this.#report('info', 'command', { command: 'set', path, value, ok: true });
    this.#reply(`OK ${path} = ${JSON.stringify(value)}`);
  }

  #reboot(): void {
    this.#report('warning', 'command', { command: 'reboot', ok: true });
    this.#reply('OK rebooting');
    this.#afterClose = () => this.d.host.reboot();
    this.close('reboot');
  }

  #factoryReset(arg: string): void {
    if (arg !== 'confirm') {
      this.#reply(
        'ERR confirm_required a factory reset wipes the device identity and configuration; send "factory-reset confirm"',
      );
      return;
    }
    this.#report('critical', 'command', { command: 'factory-reset', ok: true });
    this.#reply('OK factory reset: the device wipes its state and restarts');
    this.#afterClose = () => this.d.host.factoryReset();
    this.close('factory_reset');
  }

  async #passthrough(): Promise<void> {
    const path = this.d.serialDevice;
    if (path === undefined) {
      this.#reply('ERR passthrough_unavailable this device has no serial peripheral configured');
      return;
    }
    let link: SerialLink;
    try {
      link = await this.d.openSerial(path);
    } catch (err) {
      const message = oneLine(err instanceof Error ? err.message : String(err));
      this.#reply(`ERR passthrough_failed ${message}`);
      this.#report('warning', 'command', { command: 'passthrough', ok: false, error: message });
      return;
    }
    if (this.#mode === 'closed') {
      link.close();
      return;
    }
    this.#serial = link;
    this.#bytes = { toSerial: 0, fromSerial: 0 };
    this.#escape = new EscapeScanner();
    this.#mode = 'passthrough';
    link.input.on('data', (b: Buffer) => {
      if (this.#serial !== link) return;
      this.#bytes.fromSerial += b.length;
      this.socket.write(b);
    });
    link.input.on('error', (err: Error) => this.#endPassthrough(`serial error: ${err.message}`));
    link.output.on('error', (err: Error) => this.#endPassthrough(`serial error: ${err.message}`));
    this.#report('info', 'command', { command: 'passthrough', device: path, ok: true });
    this.#reply(`OK passthrough to ${path}; send a line "~." to end it`);
    // Bytes the client sent after the command, in the same read, are already raw.
    const early = this.#lines.drain();
    if (early.length > 0) this.#fromClientRaw(early);
  }

  #fromClientRaw(chunk: Buffer): void {
    const link = this.#serial;
    const scanner = this.#escape;
    if (!link || !scanner) return;
    const { forward, escaped, rest } = scanner.push(chunk);
    if (forward.length > 0) {
      this.#bytes.toSerial += forward.length;
      link.output.write(forward);
    }
    if (escaped) {
      this.#endPassthrough('client');
      if (rest.length > 0) this.#lines.push(rest);
      void this.#drainLines();
    }
  }

  #endPassthrough(reason: string): void {
    if (this.#mode !== 'passthrough') return;
    const link = this.#serial;
    this.#serial = undefined;
    this.#escape = undefined;
    link?.close();
    this.#mode = 'commands';
    this.#report('info', 'passthrough_ended', { reason, ...this.#bytes });
    this.#reply(
      `OK passthrough ended (${oneLine(reason)}): ${this.#bytes.toSerial} bytes sent, ${this.#bytes.fromSerial} received`,
    );
  }
}

/** Every command a ticket can allow. */
const COMMANDS: ReadonlySet<string> = new Set(Object.values(TICKET_PERMISSIONS).flat());

const USAGE: Readonly<Record<string, string>> = {
  get: 'get PATH',
  set: 'set PATH VALUE',
  list: 'list [PREFIX]',
  reboot: 'reboot',
  'factory-reset': 'factory-reset confirm',
  passthrough: 'passthrough',
};
const usage = (command: string) => USAGE[command] ?? command;

/** The ticket levels that allow a command, for a refusal message. */
function levelsFor(command: string): string {
  return Object.entries(TICKET_PERMISSIONS)
    .filter(([, cmds]) => cmds.includes(command))
    .map(([level]) => level)
    .join(' or ');
}

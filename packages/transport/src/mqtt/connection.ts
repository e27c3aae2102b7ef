/**
 * One client connection: framing, dispatch to the per-packet handlers, batched writes, keep-alive,
 * and orderly close. Transport-neutral: it only sees a Duplex.
 */
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { ClientIdentity } from './hooks.js';
import type { Engine, ConnectionMeta } from './engine.js';
import type { Message } from './message.js';
import type { Session, SessionLink } from './session.js';
import { ControlDecoder, DecodeError } from './codec/decode.js';
import { encodeConnack, encodeDisconnect, PINGRESP } from './codec/packets.js';
import { readVarint } from './codec/wire.js';
import { RC } from './reason-codes.js';
import { handleConnect } from './handlers/connect.js';
import { handlePublish } from './handlers/publish.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { handleAck } from './handlers/acks.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { InboundWindow } from './inbound-window.js';

/** A will message waiting for an abnormal disconnect ([MQTT-3.1.2-8]). */
export interface PendingWill {
  msg: Message;
  delaySeconds: number;
}

type State = 'new' | 'connecting' | 'connected' | 'closed';

/** A client connection. */
export class Connection implements SessionLink {
  state: State = 'new';
  v5 = false;
  protocolVersion: 3 | 4 | 5 = 4;
  clientId = '';
  identity: ClientIdentity | null = null;
  session: Session | null = null;
  will: PendingWill | null = null;
  sendQuota = 65_535;
  clientMaxPacket = Infinity;
  /** Inbound topic aliases ([MQTT-3.3.2-10]: they live as long as the connection). */
  readonly aliases = new Map<number, string>();
  keepAlive = 0;
  /** Set when the client closed with a normal DISCONNECT: no will ([MQTT-3.1.2-10]). */
  cleanExit = false;
  private decoder: ControlDecoder | null = null;
  private stash: Buffer | null = null;
  private stashChunks: Buffer[] | null = null;
  private stashNeed = 0;
  private blocked = false;
  private corked = false;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private rateWindow = 0;
  private rateCount = 0;
  private window: InboundWindow | null = null;
  /** The peer half-closed while work was pending: close once it is done (see peerEnd). */
  private peerEnded = false;

  constructor(
    readonly engine: Engine,
    readonly stream: Duplex,
    readonly meta: ConnectionMeta,
  ) {
    this.keepAliveTimer = setTimeout(
      () => this.close('connect_timeout'),
      engine.limits.connectTimeoutMs,
    );
    this.keepAliveTimer.unref();
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => this.close('socket_error'));
    stream.on('close', () => this.close('socket_closed'));
    stream.on('end', () => this.peerEnd());
    stream.on('drain', () => this.session?.pump());
  }

  /**
   * PUBLISH packets read but not finished (decision record 0018); created with the first one, so
   * an idle connection carries none of it. v5: QoS 1/2 bounded by our Receive Maximum.
   */
  get inbound(): InboundWindow {
    if (this.window === null) {
      const l = this.engine.limits;
      this.window = new InboundWindow(
        {
          messages: l.inboundWindow,
          acked: this.v5 ? Math.min(l.receiveMaximum, l.inboundWindow) : l.inboundWindow,
          bytes: l.inboundWindowBytes,
        },
        (err) => {
          this.engine.log.warn({ err, clientId: this.clientId }, 'mqtt handler failed');
          this.fail(RC.UNSPECIFIED, 'handler_error');
        },
        this.engine.holdInbound,
      );
    }
    return this.window;
  }

  /** True when the socket has more than the high-water mark waiting to be written. */
  isSlow(): boolean {
    return this.stream.writableLength > this.engine.limits.socketHighWaterMark;
  }

  /** Queue bytes for the socket; writes in one tick go out together (cork/uncork). */
  write(buf: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.stream.write(buf);
  }

  /** Flush corked writes. */
  flush(): void {
    if (this.corked) {
      this.corked = false;
      this.stream.uncork();
    }
  }

  /** Start (or restart) the keep-alive watchdog: 1.5 × the keep-alive ([MQTT-3.1.2-22]). */
  startKeepAlive(seconds: number): void {
    if (this.keepAliveTimer !== null) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
    this.keepAlive = seconds;
    if (seconds > 0) {
      this.keepAliveTimer = setTimeout(() => {
        // Not read because of our own backpressure (a full inbound window, a slow store): the
        // client is not the silent one, so it is not cut for it.
        if (this.blocked && this.state === 'connected') {
          this.keepAliveTimer?.refresh();
          return;
        }
        this.engine.log.info({ clientId: this.clientId }, 'mqtt keep-alive timeout');
        this.fail(RC.KEEP_ALIVE_TIMEOUT, 'keepalive_timeout');
      }, seconds * 1500);
      this.keepAliveTimer.unref();
    }
  }

  /** Switch the control-packet decoder to the negotiated protocol version. */
  setProtocol(version: 3 | 4 | 5): void {
    this.protocolVersion = version;
    this.v5 = version === 5;
    this.decoder = new ControlDecoder(version);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.keepAliveTimer !== null && this.state === 'connected') this.keepAliveTimer.refresh();
    if (this.stash !== null) {
      if (this.stashChunks !== null) {
        this.stashChunks.push(chunk);
        this.stashNeed -= chunk.length;
        if (this.stashNeed > 0 || this.blocked) return;
        chunk = Buffer.concat(this.stashChunks);
        this.stashChunks = null;
      } else chunk = Buffer.concat([this.stash, chunk]);
      this.stash = null;
    }
    if (this.blocked) {
      this.stash = chunk;
      return;
    }
    this.process(chunk, 0);
  }

  /** Frame and dispatch packets from `buf[off…]` until it is used up or a handler blocks. */
  private process(buf: Buffer, off: number): void {
    const max = this.engine.limits.maxPacketSize;
    while (off < buf.length && this.state !== 'closed') {
      // Packet type 0 is reserved: a protocol error before its length is even read.
      if (buf[off]! < 0x10 && this.state === 'connected') {
        return this.fail(RC.PROTOCOL_ERROR, 'reserved_type');
      }
      const vi = readVarint(buf, off + 1, buf.length);
      if (vi === -2) return this.fail(RC.MALFORMED, 'bad_remaining_length');
      if (vi === -1) {
        this.stash = buf.subarray(off);
        return;
      }
      const [len, bodyStart] = vi;
      const end = bodyStart + len;
      if (end - off > max) {
        // v5: DISCONNECT 0x95 Packet too large; v3.1.1: close ([MQTT-3.2.2-?] has no code).
        return this.fail(RC.PACKET_TOO_LARGE, 'packet_too_large');
      }
      if (end > buf.length) {
        // Incomplete: keep the head and collect chunks until the whole packet is here.
        this.stash = buf.subarray(off);
        this.stashChunks = [this.stash];
        this.stashNeed = end - buf.length;
        return;
      }
      const r = this.dispatch(buf, off, bodyStart, end);
      off = end;
      if (r !== undefined) {
        this.block(r, buf, off);
        return;
      }
    }
  }

  /** A handler went async: stop reading until it settles, then carry on with what is buffered. */
  private block(p: Promise<void>, buf: Buffer, off: number): void {
    this.blocked = true;
    this.stream.pause();
    if (off < buf.length) this.stash = buf.subarray(off);
    p.then(
      () => this.unblock(),
      (err: unknown) => {
        this.engine.log.warn({ err, clientId: this.clientId }, 'mqtt handler failed');
        this.fail(RC.UNSPECIFIED, 'handler_error');
      },
    );
  }

  private unblock(): void {
    this.blocked = false;
    if (this.state === 'closed') return;
    if (this.stash !== null && this.stashChunks === null) {
      const s = this.stash;
      this.stash = null;
      this.process(s, 0);
    } else if (this.stashChunks !== null && this.stashNeed <= 0) {
      const s = Buffer.concat(this.stashChunks);
      this.stash = null;
      this.stashChunks = null;
      this.process(s, 0);
    }
    if (!this.blocked && (this.state as State) !== 'closed') {
      this.stream.resume();
      if (this.peerEnded) this.peerEnd();
    }
  }

  /**
   * The peer sent its FIN. With PUBLISHes still being stored or packets still buffered, finish
   * them first — a DISCONNECT among them still means a clean exit (no will), and acknowledgements
   * still go out on a half-open socket (the listeners allow it) — then close. Decision record 0018.
   */
  private peerEnd(): void {
    if (this.state === 'closed') return;
    this.peerEnded = true;
    if (this.blocked) return; // unblock() comes back here
    const w = this.window;
    if (w !== null && w.size > 0) {
      void w.whenEmpty().then(() => this.peerEnd());
      return;
    }
    this.close('socket_end');
  }

  private dispatch(buf: Buffer, off: number, start: number, end: number): void | Promise<void> {
    const header = buf[off]!;
    const type = header >> 4;
    if (this.window !== null && this.window.size > 0 && isBarrier(type)) {
      // SUBSCRIBE, UNSUBSCRIBE, DISCONNECT, AUTH …: they act after every PUBLISH before them has
      // finished (its acknowledgement written), as if each packet were handled to the end in turn.
      return this.window
        .whenEmpty()
        .then(() => (this.state === 'closed' ? undefined : this.dispatch(buf, off, start, end)));
    }
    if (this.state !== 'connected') {
      // [MQTT-3.1.0-1] The first packet MUST be CONNECT; [MQTT-3.1.0-2] a second CONNECT is a violation.
      if (this.state === 'new' && type === 1) {
        let frame = buf.subarray(off, end);
        if (header !== 0x10) {
          // [MQTT-2.2.2-2] CONNECT flags are reserved — except in MQTT 3.1, which let them be set.
          const nameLen = end - start >= 2 ? buf.readUInt16BE(start) : 0;
          if (buf[start + 2 + nameLen] !== 3) return this.fail(RC.MALFORMED, 'connect_flags');
          frame = Buffer.from(frame);
          frame[0] = 0x10;
        }
        this.state = 'connecting';
        const decoder = new ControlDecoder(4);
        let packet: Packet;
        try {
          packet = decoder.decode(frame, end - start);
        } catch (e) {
          return this.connectFailed(e, buf, start, end);
        }
        if (packet.cmd !== 'connect') return this.fail(RC.PROTOCOL_ERROR, 'not_connect');
        return handleConnect(this, packet);
      }
      return this.fail(RC.PROTOCOL_ERROR, 'packet_before_connect');
    }
    if (type === 3) {
      const wait = this.rateWait();
      if (wait > 0) {
        // Over `maxMessagesPerSecond`: hold this PUBLISH (and stop reading) until the next
        // second, then handle it as usual. Throttled, not cut: see limits.ts.
        this.engine.counters.throttled++;
        return new Promise<void>((resolve) => setTimeout(resolve, wait).unref()).then(() =>
          this.state === 'closed' ? undefined : this.dispatch(buf, off, start, end),
        );
      }
      this.engine.counters.messagesIn++;
      handlePublish(this, header & 0x0f, buf, start, end);
      // A full window stops reading until its head finishes: backpressure on the publisher.
      const w = this.window;
      if ((this.state as State) === 'closed') return;
      if (w !== null && w.isFull()) return w.whenRoom();
      // The engine as a whole holds enough: the rest waits in the socket, not in the heap.
      const over = this.engine.overBudget();
      if (over !== undefined) return over;
      // Storage behind: stop reading until it catches up (decision 0033), rather than refuse.
      const behind = this.engine.hooks.backpressure?.();
      if (behind !== undefined) {
        this.engine.counters.backpressured++;
        return behind;
      }
      return;
    }
    if (type === 12) {
      // PINGREQ: [MQTT-3.12.4-1] answer with PINGRESP.
      if (header !== 0xc0 || end !== start) return this.fail(RC.MALFORMED, 'bad_pingreq');
      this.write(PINGRESP);
      return;
    }
    if (header === 0x40 && end - start === 2) {
      // PUBACK in its short form (success; every QoS 1 delivery gets one): read here, not by the
      // general decoder. Packet id 0 ([MQTT-2.2.1-3]) still goes the long way.
      const messageId = buf.readUInt16BE(start);
      if (messageId !== 0) return handleAck(this, { cmd: 'puback', messageId });
    }
    if (type === 1) return this.fail(RC.PROTOCOL_ERROR, 'second_connect'); // [MQTT-3.1.0-2]
    let packet: Packet;
    try {
      packet = this.decoder!.decode(buf.subarray(off, end), end - start);
    } catch (e) {
      return this.decodeFailed(e);
    }
    switch (packet.cmd) {
      case 'subscribe':
        return handleSubscribe(this, packet);
      case 'unsubscribe':
        return handleUnsubscribe(this, packet);
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        return handleAck(this, packet);
      case 'disconnect':
        return handleDisconnect(this, packet);
      case 'auth':
        // Enhanced authentication is not offered: [MQTT-4.12.0-1] without an Authentication
        // Method in CONNECT, an AUTH is a protocol error.
        return this.fail(RC.PROTOCOL_ERROR, 'auth_not_supported');
      default:
        return this.fail(RC.PROTOCOL_ERROR, `unexpected_${packet.cmd}`);
    }
  }

  /** 0 when one more PUBLISH fits this second's budget (and counts it), else ms to wait. */
  private rateWait(): number {
    const max = this.engine.limits.maxMessagesPerSecond;
    if (max === 0) return 0;
    const now = Date.now();
    if (now - this.rateWindow >= 1000) {
      this.rateWindow = now;
      this.rateCount = 0;
    }
    if (this.rateCount < max) {
      this.rateCount++;
      return 0;
    }
    return Math.max(1, 1000 - (now - this.rateWindow));
  }

  /** A bad CONNECT: v5 gets a CONNACK with the reason ([MQTT-3.2.2-…]); v3.1.1 is just closed. */
  private connectFailed(e: unknown, buf: Buffer, start: number, end: number): void {
    if (!(e instanceof DecodeError)) throw e;
    if (e.reasonCode === RC.UNSUPPORTED_PROTOCOL_VERSION) {
      // [MQTT-3.1.2-2] Unsupported protocol level: CONNACK 0x84 in the v5 form (as Mosquitto does,
      // which v3.1.1 clients read as return code 0 + garbage or close anyway), then close.
      this.stream.write(Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]));
      this.engine.countProtocolClose('unsupported_protocol');
      return this.close('unsupported_protocol');
    }
    const nameLen = end - start >= 2 ? buf.readUInt16BE(start) : 0;
    if (start + 2 + nameLen < end && buf[start + 2 + nameLen] === 5) {
      this.stream.write(encodeConnack(false, e.reasonCode, true));
    }
    this.engine.countProtocolClose('malformed_connect');
    this.close('malformed_connect');
  }

  private decodeFailed(e: unknown): void {
    if (e instanceof DecodeError) {
      this.engine.log.debug({ clientId: this.clientId, err: e.message }, 'mqtt bad packet');
      return this.fail(e.reasonCode, 'malformed');
    }
    throw e;
  }

  /**
   * End the connection for a protocol reason: v5 clients get DISCONNECT with the reason code
   * ([MQTT-4.13.1-1]) once CONNACK was sent; v3.1.1 clients are just closed ([MQTT-4.8.0-1]).
   */
  fail(reason: number, why: string): void {
    if (this.state === 'closed') return;
    if (this.v5 && this.state === 'connected') this.write(encodeDisconnect(reason));
    this.engine.countProtocolClose(why);
    this.close(why);
  }

  /** Close the connection (idempotent) and let the engine settle the session and will. */
  close(why: string): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    // QoS 1/2 messages whose acknowledgement can no longer be sent (stored or not): the client
    // resends them, counted so that none goes unaccounted.
    if (this.window !== null && this.window.unacked > 0) {
      this.engine.countDrop('closed_before_ack', this.window.unacked);
    }
    this.window?.detach();
    if (this.keepAliveTimer !== null) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
    this.flush();
    this.stream.end();
    // A connection paused by its window still reads the peer's FIN (and discards what is left).
    this.stream.resume();
    // Give a final DISCONNECT a moment to leave, then free the socket.
    setTimeout(() => this.stream.destroy(), 200).unref();
    this.engine.connectionClosed(this, why, wasConnected);
  }
}

/**
 * Packets that wait for the inbound window to empty: everything but PUBLISH (3), the
 * acknowledgements (4–7, which concern messages already acknowledged or sent) and PINGREQ (12,
 * answered at once so a busy connection is not taken for a dead one).
 */
function isBarrier(type: number): boolean {
  return type !== 3 && type !== 12 && (type < 4 || type > 7);
}

function uncork(c: Connection): void {
  c.flush();
}

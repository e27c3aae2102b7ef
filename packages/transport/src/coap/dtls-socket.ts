/**
 * The seam between DTLS and node-coap (decision 0041): node-coap's Server listens on any
 * EventEmitter that emits `message(buffer, rinfo)` and has `send(...)`. This object is that socket:
 * decrypted application data goes in, responses go out encrypted to the same association. It takes
 * dgram.Socket's prototype so node-coap's `instanceof dgram.Socket` paths (answering a duplicate
 * request from its cache, RFC 7252 §4.5) stay on.
 */
import { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { DtlsServer, DtlsSession } from '../dtls/index.js';

/** A dgram-like socket over the associations of a DTLS server. */
export class DtlsDatagramSocket extends EventEmitter {
  #server: DtlsServer | undefined;

  /** Binds the socket to its DTLS server (once it is listening). */
  attach(server: DtlsServer): void {
    this.#server = server;
  }

  /** A decrypted datagram of an established association. */
  deliver(session: DtlsSession, data: Buffer): void {
    const rinfo: AddressInfo & { size: number } = {
      address: session.peer.address,
      port: session.peer.port,
      family: session.peer.address.includes(':') ? 'IPv6' : 'IPv4',
      size: data.length,
    };
    this.emit('message', data, rinfo);
  }

  /** dgram's `send(msg, [offset, length,] port, address, [callback])`, encrypted. */
  send(msg: Buffer | Uint8Array, ...args: unknown[]): void {
    let buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
    let rest = args;
    if (typeof args[0] === 'number' && typeof args[1] === 'number' && typeof args[2] === 'number') {
      buf = buf.subarray(args[0], args[0] + args[1]);
      rest = args.slice(2);
    }
    const [port, address, cb] = rest as [number, string, ((e: Error | null, n?: number) => void)?];
    const ok = this.#server?.send({ address, port }, buf) ?? false;
    // No association (closed or never made): like UDP, the datagram is lost without an error.
    if (cb) queueMicrotask(() => cb(null, ok ? buf.length : 0));
  }

  address(): AddressInfo {
    const s = this.#server;
    return { address: s?.address ?? '0.0.0.0', port: s?.port ?? 0, family: 'IPv4' };
  }

  close(cb?: () => void): void {
    this.removeAllListeners('message');
    if (cb) queueMicrotask(cb);
  }
}
// node-coap checks `sock instanceof dgram.Socket` before answering duplicates from its cache.
Object.setPrototypeOf(DtlsDatagramSocket.prototype, Socket.prototype);

/**
 * Remote access through the gateway (decision 0042, "Through a gateway"): the relay's upgrade
 * (`GET /api/v1/relay/{id}`, `Upgrade: bulwark-relay/1`, the leg's secret) on the gateway's LAN
 * HTTPS server. A site device, which has no route to the hub, dials its leg here. The gateway
 * admits it by its certificate exactly as its broker and firmware cache do (the TLS layer checks
 * the organization's CAs, then `admittedDevice`: O, CN a site device, a live serial), only for a
 * session whose tunnel offer it handed to that same device, and forwards the leg to the hub relay
 * over its own mutual-TLS connection with its own certificate, naming the device and its serial.
 * The hub decides whether the gateway may speak for the device (core's RelayGatewayLegs) and
 * checks the secret; its refusal is passed back to the device. After `101` this copies the
 * end-to-end TLS stream byte for byte and never reads it; when either leg closes, the other is
 * closed. Limits and revocation stay at the hub relay.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { admittedDevice } from './firmware-server.js';
import type { Site } from './site.js';

const RELAY_PROTOCOL = 'bulwark-relay/1';
const PATH = /^\/api\/v1\/relay\/([A-Za-z0-9_-]{1,64})$/;
/** Legs one device may have open at once (the hub allows 4 sessions per device). */
const PER_DEVICE = 4;
/** Legs at once through this gateway (the hub holds at most 256 sessions per node). */
const MAX_LEGS = 256;

/** The hub's leg for `device`, dialed with the gateway's own certificate. */
export type HubLegDial = (
  path: string,
  secret: string,
  device: { id: string; serial: string },
) => Promise<Socket>;

export interface RelayForwardDeps {
  site: () => Site | undefined;
  /** The device the offer for relay session `id` was handed to (LocalPlane.offeredTo). */
  offeredTo: (id: string) => string | undefined;
  dial: HubLegDial;
  log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
  /** Sees every chunk forwarded (tests assert no plaintext crosses the gateway). */
  tap?: (to: 'hub' | 'device', chunk: Buffer) => void;
}

/** Forwarded legs and refusals by reason since start. */
export interface RelayForwardStats {
  open: number;
  forwarded: number;
  refused: Record<string, number>;
}

function refuse(socket: Duplex, status: number, code: string, detail: string): void {
  const body = JSON.stringify({ status, code, detail });
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Copies `from` → `to` with backpressure, telling the tap. */
function pipe(from: Duplex, to: Duplex, tap: ((c: Buffer) => void) | undefined): void {
  from.on('data', (chunk: Buffer) => {
    tap?.(chunk);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
  from.resume();
}

/** The LAN server's upgrade handler for relay legs, and its counters. */
export function relayForwarder(d: RelayForwardDeps): {
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  stats: RelayForwardStats;
} {
  const perDevice = new Map<string, number>();
  const stats: RelayForwardStats = { open: 0, forwarded: 0, refused: {} };
  const no = (socket: Duplex, status: number, code: string, why: string, detail: string) => {
    stats.refused[why] = (stats.refused[why] ?? 0) + 1;
    refuse(socket, status, code, detail);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const raw = (socket as TLSSocket).getPeerCertificate?.(false)?.raw;
    const device = admittedDevice(d.site(), raw);
    if (device === undefined || raw === undefined)
      return no(socket, 403, 'relay_refused', 'not_admitted', 'not a device of this site');
    const m = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m?.[1]) return no(socket, 404, 'route_not_found', 'path', 'no such relay path');
    if ((req.headers.upgrade ?? '').toLowerCase() !== RELAY_PROTOCOL)
      return no(socket, 400, 'validation_failed', 'upgrade', `send "Upgrade: ${RELAY_PROTOCOL}"`);
    const secret = req.headers['x-bulwark-relay-secret'];
    if (typeof secret !== 'string' || secret === '')
      return no(socket, 403, 'relay_refused', 'secret', 'send the x-bulwark-relay-secret');
    const id = m[1];
    // Only the device the offer went to dials its session here (the hub checks it again).
    if (d.offeredTo(id) !== device)
      return no(
        socket,
        403,
        'relay_refused',
        'not_offered',
        'no tunnel was offered to this device',
      );
    const n = perDevice.get(device) ?? 0;
    if (n >= PER_DEVICE || stats.open >= MAX_LEGS)
      return no(socket, 429, 'relay_busy', 'busy', 'too many remote sessions through this gateway');
    perDevice.set(device, n + 1);
    stats.open++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      stats.open--;
      const left = (perDevice.get(device) ?? 1) - 1;
      if (left === 0) perDevice.delete(device);
      else perDevice.set(device, left);
    };
    socket.once('close', release);
    socket.pause();
    const serial = new X509Certificate(raw).serialNumber.toLowerCase();
    d.dial(`/api/v1/relay/${id}`, secret, { id: device, serial }).then(
      (hub) => {
        if (socket.destroyed) {
          hub.destroy();
          return;
        }
        stats.forwarded++;
        hub.on('error', () => hub.destroy());
        // Either leg ending ends the other: the hub closing its leg closes the device's.
        hub.once('close', () => socket.destroy());
        socket.once('close', () => hub.destroy());
        (socket as Partial<Socket>).setTimeout?.(0);
        (socket as Partial<Socket>).setNoDelay?.(true);
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${RELAY_PROTOCOL}\r\n\r\n`,
        );
        if (head.length > 0) socket.unshift(head);
        pipe(socket, hub, d.tap && ((c) => d.tap?.('hub', c)));
        pipe(hub, socket, d.tap && ((c) => d.tap?.('device', c)));
        d.log('info', `remote access: session ${id} of ${device} forwarded to the hub`);
      },
      (err: Error) => {
        // The hub's refusal (relay_refused, device_quarantined …) or the link being down.
        const code = /\(([a-z_]+):/.exec(err.message)?.[1];
        d.log('warn', `remote access: session ${id} of ${device}: ${err.message}`);
        if (code === undefined) no(socket, 502, 'unavailable', 'hub', err.message);
        else no(socket, 403, code, code, err.message);
      },
    );
  };
  return { onUpgrade, stats };
}

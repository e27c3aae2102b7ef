/**
 * The remote-access relay on the hub's HTTPS server (decision 0042): `GET /api/v1/relay/{id}` with
 * `Connection: Upgrade`, `Upgrade: bulwark-relay/1` (RFC 9110 §7.8) and the leg's one-time secret
 * in `x-bulwark-relay-secret`. The operator leg authenticates with its bearer token, the device leg
 * with its client certificate through the one admission rule; core's TunnelRelay decides whether
 * the leg may join. After `101 Switching Protocols` the socket carries only the end-to-end TLS
 * stream between the CLI and the device, which this file copies byte for byte and counts, never
 * reads.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  type Admission,
  type AuthService,
  type RelayJoiner,
  type RelayGatewayLegs,
  type RelayLeg,
  type TunnelRelay,
} from '@bulwark/core';
import { BulwarkError } from '@bulwark/protocol';
import { normalizeError, toProblem } from './problem.js';

/** The protocol token of the Upgrade header. */
export const RELAY_PROTOCOL = 'bulwark-relay/1';
/** The header that carries a leg's pairing secret. */
export const RELAY_SECRET_HEADER = 'x-bulwark-relay-secret';
/**
 * Headers of a gateway carrying a site device's leg: the device it admitted on its LAN and the
 * serial of that device's certificate (decision 0042, through a gateway).
 */
export const RELAY_DEVICE_HEADER = 'x-bulwark-relay-device';
export const RELAY_DEVICE_SERIAL_HEADER = 'x-bulwark-relay-device-serial';
const PATH = /^\/api\/v1\/relay\/([A-Za-z0-9_-]{1,64})$/;

/** Is this upgrade request for the relay (so other upgrade handlers leave it alone)? */
export const isRelayPath = (url: string | undefined): boolean =>
  (url ?? '').startsWith('/api/v1/relay/');

/** What the relay needs from the hub. */
export interface RelayDeps {
  admission: Pick<Admission, 'admit'>;
  auth: Pick<AuthService, 'authenticate'>;
  relay: TunnelRelay<RelayLeg>;
  /** Admits device legs a gateway carries for its site devices. */
  gateways: Pick<RelayGatewayLegs, 'joiner'>;
  /**
   * Sees every chunk the relay copies (tests assert that no plaintext crosses the hub); absent in
   * production.
   */
  tap?: (to: 'device' | 'operator', chunk: Buffer) => void;
  /** Told of authentication failures and other refusals before a leg joins (the log). */
  onError?: (err: unknown) => void;
}

/** A leg's socket as the relay closes it. */
class SocketLeg implements RelayLeg {
  constructor(readonly socket: Duplex) {}
  close(): void {
    this.socket.destroy();
  }
}

function refuse(socket: Duplex, err: unknown): void {
  const e = normalizeError(err);
  const problem = toProblem(e);
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${e.code}\r\ncontent-type: application/problem+json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Who dials this leg: a bearer token is the operator; else the device by its certificate. */
async function joinerOf(req: IncomingMessage, d: RelayDeps, id: string): Promise<RelayJoiner> {
  const source = req.socket.remoteAddress ?? 'unknown';
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) {
    const p = await d.auth.authenticate(bearer, source);
    if (p.kind === 'device')
      throw new BulwarkError('forbidden', 'a device dials with its certificate');
    return { leg: 'operator', orgId: p.orgId, principalId: p.id, source };
  }
  const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.(false);
  const org = peer?.subject?.O;
  if (!peer?.raw || typeof org !== 'string')
    throw new BulwarkError(
      'unauthenticated',
      'the operator sends "Authorization: Bearer …"; the device presents its certificate',
    );
  const p = await d.admission.admit({
    credential: { kind: 'certificate', der: peer.raw, claimedOrgId: org },
    transport: 'relay',
    source,
  });
  if (p.type !== 'device') throw new BulwarkError('certificate_required', 'not a device');
  const serial = p.credential.kind === 'certificate' ? p.credential.cert.serial : null;
  const forDevice = req.headers[RELAY_DEVICE_HEADER];
  if (forDevice !== undefined) {
    // A gateway carrying a site device's leg: the site rule decides, not the gateway's word.
    const claimed = req.headers[RELAY_DEVICE_SERIAL_HEADER];
    return await d.gateways.joiner(
      { orgId: p.orgId, gatewayId: p.id, serial, source },
      {
        session: id,
        deviceId: typeof forDevice === 'string' ? forDevice : '',
        serial: typeof claimed === 'string' ? claimed : '',
      },
    );
  }
  // A quarantined device is admitted to its management plane only (DESIGN.md §4.1).
  if (p.state !== 'active')
    throw new BulwarkError('device_quarantined', `the device is ${p.state}`);
  return { leg: 'device', orgId: p.orgId, deviceId: p.id, serial, source };
}

/** Copies `from` → `to`, counting every chunk against the session's byte limit. */
function pump(d: RelayDeps, id: string, from: Duplex, to: Duplex, dir: 'device' | 'operator') {
  from.on('data', (chunk: Buffer) => {
    d.tap?.(dir, chunk);
    if (!d.relay.count(id, dir, chunk.length)) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
  from.resume();
}

/** Attaches the relay to the HTTPS server's upgrade requests; returns a detach function. */
export function attachRelay(server: Server, d: RelayDeps): () => void {
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isRelayPath(req.url)) return;
    socket.on('error', () => socket.destroy());
    const m = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!m?.[1]) return refuse(socket, new BulwarkError('route_not_found', 'no such relay path'));
    if ((req.headers.upgrade ?? '').toLowerCase() !== RELAY_PROTOCOL)
      return refuse(
        socket,
        new BulwarkError('validation_failed', `send "Upgrade: ${RELAY_PROTOCOL}"`),
      );
    const secret = req.headers[RELAY_SECRET_HEADER];
    if (typeof secret !== 'string' || secret === '')
      return refuse(socket, new BulwarkError('relay_refused', `send the ${RELAY_SECRET_HEADER}`));
    const id = m[1];
    socket.pause();
    void joinerOf(req, d, id).then(
      (who) => {
        if (socket.destroyed) return;
        const leg = new SocketLeg(socket);
        let joined;
        try {
          joined = d.relay.join(id, secret, who, leg);
        } catch (err) {
          return refuse(socket, err);
        }
        (socket as Socket).setNoDelay?.(true);
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${RELAY_PROTOCOL}\r\n\r\n`,
        );
        if (head.length > 0) socket.unshift(head);
        const gone = who.leg === 'operator' ? 'operator_closed' : 'device_closed';
        socket.on('close', () => d.relay.close(id, gone));
        if (!joined.paired) return;
        const { operator, device } = joined.session as unknown as {
          operator: SocketLeg;
          device: SocketLeg;
        };
        pump(d, id, operator.socket, device.socket, 'device');
        pump(d, id, device.socket, operator.socket, 'operator');
      },
      (err: unknown) => {
        d.onError?.(err);
        refuse(socket, err);
      },
    );
  };
  server.on('upgrade', onUpgrade);
  return () => server.off('upgrade', onUpgrade);
}

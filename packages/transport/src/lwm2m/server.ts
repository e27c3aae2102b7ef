/**
 * The LwM2M server's wire (decision 0043): one UDP socket (`CoapEndpoint`) carrying the
 * registration interface in and device management requests out, the registration table with its
 * lifetime sweep, and the `Lwm2mLink` the service drives.
 */
import {
  attributeQuery,
  decodeContent,
  encodeTlv,
  LWM2M_FORMATS,
  Lwm2mRequestError,
  parsePath,
  resourceType,
  tlvBytes,
  type Lwm2mLink,
  type Lwm2mRecord,
  type Lwm2mSecurity,
} from '@bulwark/core';
import type { NamedOption } from 'coap-packet';
import { decodeBlock, encodeBlock } from '../coap/block-option.js';
import { DtlsDatagramSocket } from '../coap/dtls-socket.js';
import {
  startDtlsServer,
  type DtlsAuthFailure,
  type DtlsLimits,
  type DtlsServer,
  type DtlsServerOptions,
  type DtlsSession,
  type DtlsStats,
  type PskEntry,
} from '../dtls/index.js';
import {
  CoapEndpoint,
  uintOption,
  type CoapRequestIn,
  type CoapRequestOut,
  type CoapResponseIn,
  type EndpointLogger,
} from './endpoint.js';
import { DEFAULT_LWM2M_LIMITS, type Lwm2mHooks, type Lwm2mLimits } from './hooks.js';
import { RegistrationTable } from './registrations.js';
import { bootstrapInterface } from './bootstrap.js';
import { subjectOrganization } from '../messaging/coap-hooks.js';

/** Delay between a rebootstrap 4.04 and the end of the association (the reply leaves first). */
const REBOOTSTRAP_CLOSE_MS = 250;

/** A running LwM2M server. */
export interface Lwm2mServer {
  port: number;
  /** The device management link (Read, Write, Execute, Discover, Observe) by registration. */
  link: Lwm2mLink;
  /** Registrations held and requests in flight. */
  stats(): { registrations: number; pending: number; observations: number };
  /** Over DTLS: the associations and handshakes. */
  dtlsStats?(): DtlsStats;
  /** Is this registration held here? */
  holds(location: string): boolean;
  /** Ends a registration (an access change cut it); false when it is not held here. */
  cut(location: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Blocks fetched for one Read answer at most (64 × 1024 bytes: far above any object we read). */
const MAX_BLOCKS = 64;
/** How often lifetimes are checked (a registration outlives its lifetime by at most this + grace). */
const SWEEP_MS = 1000;

/** LwM2M over DTLS with pre-shared keys, certificates or raw public keys (Transport §5.2.8). */
export interface Lwm2mSecureOptions {
  /** The key of a PSK identity for the handshake, or undefined when the identity is unknown. */
  psk(identity: string, address: string): Promise<PskEntry | undefined>;
  dtlsLimits?: Partial<DtlsLimits>;
  /** How long a source must wait before its next handshake (the failure throttle; 0: now). */
  retryAfterMs?: (address: string) => number;
  /** A handshake failed on its credential (unknown identity, wrong key). */
  onAuthFailure?: (f: DtlsAuthFailure) => void;
  /** Certificate and raw public key authentication (ECDHE-ECDSA suites); without it PSK only. */
  certificates?: DtlsServerOptions['certificates'];
}

/**
 * Starts the LwM2M server on UDP, or over DTLS when `secure` is given: the same message layer and
 * registration interface on a dgram-like socket over the DTLS associations, each request carrying
 * the PSK identity its association proved, and the server's own requests going back over it.
 */
export async function startLwm2mServer(o: {
  port: number;
  host: string;
  hooks: Lwm2mHooks;
  log: EndpointLogger & { info?(obj: object, msg: string): void };
  limits?: Partial<Lwm2mLimits>;
  secure?: Lwm2mSecureOptions;
}): Promise<Lwm2mServer> {
  const limits = { ...DEFAULT_LWM2M_LIMITS, ...o.limits };
  const tokens = new Map<string, Set<string>>();
  const table = new RegistrationTable({
    hooks: o.hooks,
    limits,
    onEnd: (location) => {
      endpoint.forget(tokens.get(location) ?? []);
      tokens.delete(location);
    },
    // Decision 0045 amendment: after the 4.04 has left, the association ends, so the client's
    // Bootstrap-Request comes over a fresh handshake with its bootstrap account (/0/0).
    onRebootstrap: (source) => {
      const i = source.lastIndexOf(':');
      const address = source.slice(0, i);
      const p = Number(source.slice(i + 1));
      setTimeout(
        () =>
          void dtls?.closeSessions(
            (x) => x.peer.address === address && x.peer.port === p,
            'rebootstrap requested',
          ),
        REBOOTSTRAP_CLOSE_MS,
      ).unref();
    },
  });
  let dtls: DtlsServer | undefined;
  let endpoint: CoapEndpoint;
  const bootstrap = bootstrapInterface({
    hooks: o.hooks,
    endpoint: () => endpoint,
    log: o.log,
    maxEndpointLength: limits.maxEndpointLength,
    endAssociation: (address, p) =>
      void dtls?.closeSessions(
        (x) => x.peer.address === address && x.peer.port === p,
        'bootstrap finished',
      ),
  });
  const onRequest = (r: CoapRequestIn) => bootstrap(r) ?? table.handle(r);
  let port: number;
  if (o.secure) {
    const sec = o.secure;
    const socket = new DtlsDatagramSocket();
    dtls = await startDtlsServer({
      port: o.port,
      host: o.host,
      psk: (identity, peer) => sec.psk(identity, peer.address),
      onData: (session, data) => socket.deliver(session, data),
      limits: sec.dtlsLimits,
      log: {
        warn: (x, m) => o.log.warn(x, m),
        debug: (x, m) => o.log.debug(x, m),
        info: (x, m) => (o.log.info ?? o.log.debug).call(o.log, x, m),
      },
      ...(sec.retryAfterMs ? { retryAfterMs: sec.retryAfterMs } : {}),
      ...(sec.onAuthFailure ? { onAuthFailure: sec.onAuthFailure } : {}),
      ...(sec.certificates ? { certificates: sec.certificates } : {}),
    });
    socket.attach(dtls);
    const server = dtls;
    endpoint = new CoapEndpoint({
      onRequest,
      log: o.log,
      socket,
      securityOf: (address, p) => {
        const s = server.session({ address, port: p });
        return s === undefined ? undefined : securityOf(s);
      },
    });
    port = dtls.port;
  } else {
    endpoint = new CoapEndpoint({ onRequest, log: o.log });
    port = await endpoint.listen(o.port, o.host);
  }
  const timer = setInterval(() => void table.expire(Date.now()), SWEEP_MS);
  timer.unref();

  const target = (location: string) => {
    const reg = table.byLocation.get(location);
    if (!reg) throw new Lwm2mRequestError('4.04', `registration ${location} is gone`);
    const i = reg.address.lastIndexOf(':');
    return { address: reg.address.slice(0, i), port: Number(reg.address.slice(i + 1)) };
  };
  const segs = (path: string) => parsePath(path).map(String);
  const accept = (path: string): number =>
    // TLV where the server knows the types (objects 1 and 3), else SenML JSON, which carries them.
    [1, 3].includes(parsePath(path)[0]!) ? LWM2M_FORMATS.tlv : LWM2M_FORMATS.senmlJson;
  const expect = (r: CoapResponseIn, want: string, what: string) => {
    if (r.code !== want)
      throw new Lwm2mRequestError(r.code, `${what}: the device answered ${r.code}`);
  };
  const records = (r: CoapResponseIn, path: string, payload = r.payload): Lwm2mRecord[] =>
    decodeContent(r.contentFormat ?? LWM2M_FORMATS.text, payload, parsePath(path));

  /** A GET, following Block2 (RFC 7959 §2.4) when the answer does not fit one datagram. */
  const get = async (location: string, path: string, format: number): Promise<CoapResponseIn> => {
    const t = target(location);
    const base: CoapRequestOut = {
      method: 'GET',
      path: segs(path),
      options: [{ name: 'Accept', value: uintOption(format) }],
    };
    let r = await endpoint.request(t.address, t.port, base);
    const parts = [r.payload];
    for (let n = 1; r.code === '2.05' && r.block2; n++) {
      const b = decodeBlock(r.block2);
      if (!b?.more) break;
      if (n >= MAX_BLOCKS)
        throw new Lwm2mRequestError('4.13', `${path}: more than ${MAX_BLOCKS} blocks`);
      r = await endpoint.request(t.address, t.port, {
        ...base,
        options: [
          ...base.options!,
          { name: 'Block2', value: encodeBlock({ num: n, more: false, szx: b.szx }) },
        ],
      });
      parts.push(r.payload);
    }
    return { ...r, payload: Buffer.concat(parts) };
  };

  const link: Lwm2mLink = {
    async read(location, path) {
      const r = await get(location, path, accept(path));
      expect(r, '2.05', `Read ${path}`);
      return records(r, path);
    },
    async write(location, path, value) {
      const ids = parsePath(path);
      if (ids.length !== 3)
        throw new Lwm2mRequestError('4.00', 'Write needs /object/instance/resource');
      const t = target(location);
      const type = resourceType(ids[0]!, ids[2]!);
      const payload = Buffer.from(
        encodeTlv([{ kind: 'resource', id: ids[2]!, value: tlvBytes(value, type) }]),
      );
      const options: NamedOption[] = [
        { name: 'Content-Format', value: uintOption(LWM2M_FORMATS.tlv) },
      ];
      const r = await endpoint.request(t.address, t.port, {
        method: 'PUT',
        path: segs(path),
        options,
        payload,
      });
      expect(r, '2.04', `Write ${path}`);
    },
    async execute(location, path, args) {
      const t = target(location);
      const r = await endpoint.request(t.address, t.port, {
        method: 'POST',
        path: segs(path),
        ...(args ? { payload: Buffer.from(args) } : {}),
      });
      expect(r, '2.04', `Execute ${path}`);
    },
    async discover(location, path) {
      const r = await get(location, path, 40);
      expect(r, '2.05', `Discover ${path}`);
      return r.payload.toString('utf8');
    },
    async create(location, objectPath, values, instance) {
      const t = target(location);
      const objectId = parsePath(objectPath)[0]!;
      const resources = [...values].map(([id, v]) => ({
        kind: 'resource' as const,
        id,
        value: tlvBytes(v, resourceType(objectId, id)),
      }));
      // With an instance id the resources are wrapped in it; without, the client picks one.
      const entries =
        instance === undefined
          ? resources
          : [{ kind: 'instance' as const, id: instance, children: resources }];
      const r = await endpoint.request(t.address, t.port, {
        method: 'POST',
        path: segs(objectPath),
        options: [{ name: 'Content-Format', value: uintOption(LWM2M_FORMATS.tlv) }],
        payload: Buffer.from(encodeTlv(entries)),
      });
      expect(r, '2.01', `Create ${objectPath}`);
      const loc = r.locationPath ?? [];
      return loc.length > 0
        ? `/${loc.join('/')}`
        : instance === undefined
          ? objectPath
          : `${objectPath}/${instance}`;
    },
    async delete(location, path) {
      const t = target(location);
      const r = await endpoint.request(t.address, t.port, { method: 'DELETE', path: segs(path) });
      expect(r, '2.02', `Delete ${path}`);
    },
    async writeAttributes(location, path, attributes) {
      const t = target(location);
      const r = await endpoint.request(t.address, t.port, {
        method: 'PUT',
        path: segs(path),
        options: attributeQuery(attributes).map((q) => ({
          name: 'Uri-Query',
          value: Buffer.from(q),
        })),
      });
      expect(r, '2.04', `Write-Attributes ${path}`);
    },
    async observe(location, path, onRecords) {
      const t = target(location);
      const { token, first } = await endpoint.observe(
        t.address,
        t.port,
        {
          method: 'GET',
          path: segs(path),
          options: [{ name: 'Accept', value: uintOption(accept(path)) }],
        },
        (n) => {
          if (!n.code.startsWith('2.')) return;
          try {
            onRecords(records(n, path));
          } catch (err) {
            o.log.warn({ err, location, path }, 'LwM2M: undecodable notification dropped');
          }
        },
      );
      expect(first, '2.05', `Observe ${path}`);
      if (first.observe === undefined) {
        throw new Lwm2mRequestError('2.05', `Observe ${path}: the device did not register it`);
      }
      const set = tokens.get(location) ?? new Set<string>();
      set.add(token);
      tokens.set(location, set);
      return records(first, path);
    },
  };

  return {
    port,
    link,
    stats: () => ({ registrations: table.byLocation.size, ...endpoint.stats }),
    ...(dtls ? { dtlsStats: () => dtls.stats() } : {}),
    holds: (location) => table.byLocation.has(location),
    cut: (location) => table.cut(location),
    async close() {
      clearInterval(timer);
      await table.shutdown();
      await endpoint.close();
      await dtls?.close();
    },
  };
}

/** What a request over this association carries: its PSK, or its certificate or raw key. */
function securityOf(s: DtlsSession): Lwm2mSecurity {
  const der = s.certificate?.[0];
  const spki = s.rawPublicKey;
  const credential: Lwm2mSecurity['credential'] = der
    ? { kind: 'certificate', der, claimedOrgId: subjectOrganization(der) }
    : spki
      ? { kind: 'rpk', spki }
      : undefined;
  return { identity: s.identity, pskRef: s.pskRef, ...(credential ? { credential } : {}) };
}

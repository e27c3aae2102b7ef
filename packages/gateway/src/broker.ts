/**
 * The gateway's local MQTT broker (decision 0040): the hub's own engine (`@bulwark/transport`)
 * with gateway hooks. A site device connects over TLS with its own certificate, verified OFFLINE:
 * the TLS layer checks its chain to the organization's CAs the gateway last synced; the hooks
 * then require its serial among its live ones (neither revoked nor retired, as of the last sync),
 * its organization, and a state that opens channels. It publishes and subscribes on the channels its rights name — the same topics
 * and rights as on the hub. A QoS 1 message is acknowledged once it is durable in the queue.
 */
import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:tls';
import { parseTopic, subtopicProblem } from '@bulwark/protocol';
import {
  MqttRefusal,
  createMqttEngine,
  listenTls,
  type ClientIdentity,
  type MqttEngine,
  type MqttHooks,
} from '@bulwark/transport';
import { newId } from '@bulwark/core';
import { uuidV7Time } from '@bulwark/protocol';
import type { LocalPlane } from './plane.js';
import { QUEUE_RULED, QueueFullError, type UplinkQueue } from './queue.js';
import type { LocalRules } from './rules.js';
import { normalizeSerial, type Site } from './site.js';

/** A site device connected here. */
export interface LocalClient {
  deviceId: string;
  serial: string;
}

const who = (c: ClientIdentity) => c.principal as LocalClient;

/** States whose channels are open (core's policy: a quarantined device keeps only its plane). */
const CHANNEL_STATES: ReadonlySet<string> = new Set(['active', 'provisioned']);

/** The hooks: pure functions of the current site copy and the queue. */
export function gatewayHooks(o: {
  site: () => Site | undefined;
  queue: UplinkQueue;
  accepted: () => void;
  /** The device plane through the gateway; without it only channels are served. */
  plane?: LocalPlane;
  /** Rules on telemetry at the site (rules.ts); without it the hub evaluates everything. */
  rules?: LocalRules;
}): MqttHooks {
  const device = (c: ClientIdentity) => o.site()?.devices.get(who(c).deviceId);
  /** A channel-open device's record, or undefined. */
  const channelDevice = (c: ClientIdentity) => {
    const d = device(c);
    return d && CHANNEL_STATES.has(d.state) ? d : undefined;
  };
  /** The levels after `$devices/{own id}/` of a topic on the client's own plane, else undefined. */
  const ownRest = (c: ClientIdentity, topic: string) => {
    const t = parseTopic(topic);
    return o.plane && t?.kind === 'device' && t.deviceId === who(c).deviceId && t.rest !== ''
      ? t.rest
      : undefined;
  };
  return {
    authenticate(info) {
      const site = o.site();
      if (!site || !info.certificate) return { refuse: 0x87 };
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(info.certificate.der);
      } catch {
        return { refuse: 0x87 };
      }
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
      const org = /(?:^|\n)O=([^\n]+)/.exec(cert.subject)?.[1];
      const serial = normalizeSerial(cert.serialNumber);
      const d = cn === undefined ? undefined : site.devices.get(cn);
      if (!d || org !== site.view.orgId || !d.serials.has(serial)) return { refuse: 0x87 };
      if (info.clientId !== '' && info.clientId !== cn) return { refuse: 0x85 };
      return { id: cn!, clientId: cn!, principal: { deviceId: cn!, serial } satisfies LocalClient };
    },
    authorizePublish(c, topic) {
      const rest = ownRest(c, topic);
      const state = device(c)?.state;
      if (rest !== undefined) return state && o.plane?.mayPublish(state, rest) ? 0 : 0x87;
      const t = parseTopic(topic);
      const d = channelDevice(c);
      const ok =
        t?.kind === 'channel' && t.subtopic !== '#' && d?.publish.has(t.channelId) === true;
      return ok ? 0 : 0x87;
    },
    authorizeSubscribe(c, filter, qos) {
      const own = ownRest(c, filter);
      const state = device(c)?.state;
      if (own !== undefined)
        return state && o.plane?.maySubscribe(who(c).deviceId, state, filter) ? qos : 0x87;
      const t = parseTopic(filter);
      const d = channelDevice(c);
      return t?.kind === 'channel' && d?.subscribe.has(t.channelId) === true ? qos : 0x87;
    },
    async onPublish(c, msg) {
      const rest = ownRest(c, msg.topic);
      if (rest !== undefined && o.plane) {
        await o.plane.report(who(c).deviceId, rest, msg);
        return false; // forwarded to the hub, not routed here
      }
      const t = parseTopic(msg.topic);
      if (t?.kind !== 'channel' || msg.will) throw new MqttRefusal(0x87, 'not here');
      const bad = subtopicProblem(t.subtopic);
      if (bad !== undefined) throw new MqttRefusal(0x90, bad);
      const deviceId = who(c).deviceId;
      // Refused before the rules see it: a message the device must send again is not evaluated.
      if (!o.queue.fits(msg.payload.byteLength))
        throw new MqttRefusal(0x97, "the gateway's queue is full");
      const id = newId();
      const m = {
        device: deviceId,
        channel: t.channelId,
        subtopic: t.subtopic,
        contentType: msg.contentType,
        payload: msg.payload,
      };
      const firings = o.rules?.evaluate({
        ...m,
        id,
        at: uuidV7Time(id)!,
        deviceId,
        channelId: t.channelId,
      });
      try {
        // One commit: the message and what the rules made of it are durable together.
        await Promise.all([
          o.queue.add({ ...m, id, flags: firings ? QUEUE_RULED : 0 }),
          ...(firings ?? []).map((f) => o.queue.add(f, true)),
        ]);
      } catch (err) {
        // Full (or the disk is): the device is refused and keeps its message (decision 0040).
        throw new MqttRefusal(0x97, err instanceof QueueFullError ? err.message : 'storage failed');
      }
      o.accepted();
    },
    onConnect: (c) => o.plane?.connected(who(c).deviceId, c.principal as object),
    onDisconnect: (c) => o.plane?.disconnected(who(c).deviceId, c.principal as object),
    onSubscribed: (c, subs) =>
      o.plane?.subscribed(
        who(c).deviceId,
        subs.map((x) => x.filter),
      ),
  };
}

export interface LocalBroker {
  engine: MqttEngine;
  server: Server;
  port: number;
  /** A new site copy: new TLS trust (CAs, CRL) for new connections; cut devices no longer admitted. */
  apply(site: Site): void;
  close(): Promise<void>;
}

/** Starts the broker on TLS with the site's trust. */
export async function startLocalBroker(o: {
  host: string;
  port: number;
  cert: string;
  key: string;
  site: () => Site | undefined;
  queue: UplinkQueue;
  accepted: () => void;
  plane?: LocalPlane;
  rules?: LocalRules;
  maxPacketSize: number;
  /** A device's handshake failed (unknown CA, revoked, expired …). */
  onTlsError?: (err: Error) => void;
}): Promise<LocalBroker> {
  const engine = createMqttEngine({
    hooks: gatewayHooks(o),
    limits: { maxPacketSize: o.maxPacketSize },
  });
  // The TLS layer checks the chain to the organization's CAs (and validity). Revocation is the
  // hooks' serial check against the synced live serials: Node's `crl` option demands a CRL for
  // every CA of the chain (CRL_CHECK_ALL) and the hub issues none for its roots (decision 0040).
  const trust = (s: Site | undefined) =>
    s
      ? { ca: [s.view.root, s.view.issuing] }
      : // No site yet: nothing verifies, every device is refused.
        { ca: [] as string[] };
  const server = await listenTls(engine, {
    port: o.port,
    host: o.host,
    cert: o.cert,
    key: o.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...trust(o.site()),
  });
  server.on('tlsClientError', (err) => o.onTlsError?.(err));
  const address = server.address();
  return {
    engine,
    server,
    port: typeof address === 'object' && address !== null ? address.port : o.port,
    apply(site) {
      server.setSecureContext({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2', ...trust(site) });
      engine.disconnectWhere(
        (c) => {
          const d = site.devices.get(who(c).deviceId);
          return !d || !d.serials.has(who(c).serial);
        },
        0x87,
        { endSessions: true },
      );
      // Subscriptions are held to the new rights too.
      void engine.reauthorize(() => true);
    },
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await engine.close();
      await closed;
    },
  };
}

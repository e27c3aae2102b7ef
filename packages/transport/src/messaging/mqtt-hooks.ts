import { randomUUID } from 'node:crypto';
import {
  AdmissionError,
  mayUse,
  planeOfKind,
  sessionKeyOf,
  type Admission,
  type DomainEvents,
  type EdgeCredential,
  type EdgePrincipal,
  type EdgeTransport,
  type MessagingClient,
  type MessagingService,
  type Plane,
} from '@bulwark/core';
import {
  DEVICE_PLANE,
  GATEWAY_UPLINK,
  parseDevicePlaneTopic,
  GATEWAY_SESSIONS,
  parseTopic,
} from '@bulwark/protocol';
import {
  MqttRefusal,
  type ClientIdentity,
  type ConnectInfo,
  type ConnectRefusal,
  type InboundPublish,
  type MqttHooks,
} from '../mqtt/hooks.js';
import { then } from '../mqtt/maybe.js';
import { verifiedCertificates } from './mqtt-tls.js';
import { admissionConnectCode } from './admission-codes.js';
import { mqttReasonCode } from './reason-codes.js';

/** What the hub knows about a connected MQTT client. */
export interface HubClient extends MessagingClient {
  /** Who it was admitted as (its credential, its state at admission). */
  principal: EdgePrincipal;
  /** The certificate serial a device authenticated with. */
  certSerial?: string;
  /** This connection's own id: a device's presence belongs to one connection. */
  sessionId: string;
  /** The engine's session key (sessionKeyOf): the principal, never the client id alone. */
  sessionKey: string;
  /** Where it connected from. */
  source: string;
  transport: EdgeTransport;
}

/** Messages under `$devices/{id}/` that only the hub sends (a device may not publish there). */
const fromHub = (rest: string): boolean => {
  const kind = parseDevicePlaneTopic(rest)?.kind;
  return kind !== undefined && DEVICE_PLANE[kind].from === 'hub';
};

/** The plane a `$devices/{id}/…` topic (or filter) belongs to (one rule: core's policy). */
const planeOf = (rest: string): Plane => planeOfKind(parseDevicePlaneTopic(rest)?.kind);

/**
 * The hub's side of the device management plane: what a device publishes on its own plane, and
 * its connection's life. `publish` returns true when it consumed the message (not routed on);
 * throwing refuses it (a BulwarkError's kind gives the reason code, e.g. 0x99 for a bad payload).
 */
export interface DevicePlaneHook {
  publish(client: HubClient, rest: string, msg: InboundPublish): Promise<boolean>;
  connected(client: HubClient): void;
  disconnected(client: HubClient, reason: string, clean: boolean): void;
  subscribed(client: HubClient, filters: readonly string[]): void;
}

/** The services the hub's MQTT hooks use. */
export interface MqttHookServices {
  /** The one admission rule (core/src/edge/admission.ts). */
  admission: Pick<Admission, 'admit'>;
  messaging: Pick<MessagingService, 'canPublish' | 'canSubscribe' | 'ingest'> &
    Partial<Pick<MessagingService, 'backpressure'>>;
  /** Typed domain events: connects, disconnects, take-overs, denials. */
  events?: DomainEvents;
  /** Presence and denial counters. */
  onConnect?(client: HubClient): void;
  onDisconnect?(client: HubClient, reason: string): void;
  onDenied?(client: HubClient, what: 'publish' | 'subscribe', topic: string): void;
  /** Device management (twin, commands, presence …); without it the plane is routed as is. */
  devicePlane?: DevicePlaneHook;
  /**
   * A gateway's batches of its site devices' messages on `$devices/{gatewayId}/uplink` (decision
   * 0040); resolves once every message is stored or refused for good.
   */
  gatewayUplink?: {
    accept(orgId: string, gatewayId: string, batch: Uint8Array): Promise<unknown>;
    /**
     * The gateway's snapshot of its devices' sessions on `$devices/{gatewayId}/sessions` (the
     * device plane through the gateway); `sessionId` is the gateway's own connection.
     */
    sessions?(
      gateway: { orgId: string; id: string; sessionId: string },
      snapshot: Uint8Array,
    ): Promise<unknown>;
  };
}

const client = (c: ClientIdentity) => c.principal as HubClient;

/** The credential a CONNECT carries, or a refusal code when it carries none. */
function credentialOf(info: ConnectInfo): EdgeCredential | ConnectRefusal {
  const pre = info.certificate;
  if (pre) return { kind: 'certificate', der: pre.der, claimedOrgId: pre.subjectO ?? '' };
  const password = info.password ? Buffer.from(info.password).toString('utf8') : undefined;
  if (!password) return 0x87;
  if (password.startsWith('bwk_')) return { kind: 'api_key', secret: password };
  if (!info.username) return 0x86;
  return { kind: 'device_key', deviceId: info.username, secret: password };
}

/**
 * The hub's MQTT security, on the one admission rule: a device authenticates with its certificate
 * (mutual TLS) or its device key (username = device id, password = key); an application with an
 * API key as the password. **Sessions belong to their principal**: the session key is the device
 * (whose client id must be its id, or empty, which means its id) or the application key plus its
 * client id — never the client-chosen string alone, so another tenant's credential cannot resume
 * or take over anyone's session. Devices use their own `$devices/{id}/…` plane and the channels
 * they are connected to, within what their state opens (policy.ts); everything else is denied.
 * Every publish to a channel goes through messaging's ingest before it is acknowledged.
 */
export function hubMqttHooks(s: MqttHookServices): MqttHooks {
  /** The connection most recently admitted per session key (to name a take-over's newcomer). */
  const newest = new Map<string, HubClient>();
  /**
   * The last device-plane report of each connection. The engine hands a connection's messages on
   * in order but lets their stores overlap (pipelining, decision record 0018); twin, command and
   * update reports are state changes, so each waits for the one before it. Channel data does not.
   */
  const planeTail = new WeakMap<HubClient, Promise<unknown>>();
  const inTurn = (who: HubClient, f: () => Promise<boolean>): Promise<boolean> => {
    const p = (planeTail.get(who) ?? Promise.resolve()).then(f);
    planeTail.set(
      who,
      p.catch(() => undefined),
    );
    return p;
  };
  const now = () => Date.now();

  const denied = (who: HubClient, action: 'publish' | 'subscribe', resource: string) => {
    s.onDenied?.(who, action, resource);
    s.events?.emit({
      type: 'authz.denied',
      orgId: who.orgId,
      at: now(),
      principal: { type: who.type, id: who.id },
      transport: who.transport,
      action,
      resource,
    });
  };

  /** A message a device publishes on its own plane (`$devices/{id}/…`). */
  const devicePublish = async (
    c: ClientIdentity,
    rest: string,
    msg: InboundPublish,
  ): Promise<void | false> => {
    const who = client(c);
    const gw = s.gatewayUplink;
    const uplink = rest === GATEWAY_UPLINK;
    if (gw && who.type === 'device' && (uplink || (gw.sessions && rest === GATEWAY_SESSIONS))) {
      try {
        if (uplink) await gw.accept(who.orgId, who.id, msg.payload);
        else await gw.sessions?.(who, msg.payload);
        return false;
      } catch (err) {
        throw new MqttRefusal(mqttReasonCode(err), err instanceof Error ? err.message : 'refused');
      }
    }
    if (!s.devicePlane || who.type !== 'device') return; // routed as is
    const plane = s.devicePlane;
    try {
      return (await inTurn(who, () => plane.publish(who, rest, msg))) ? false : undefined;
    } catch (err) {
      throw new MqttRefusal(mqttReasonCode(err), err instanceof Error ? err.message : 'refused');
    }
  };

  return {
    async authenticate(info) {
      const transport: EdgeTransport = info.listener === 'ws' ? 'mqtt-ws' : 'mqtt';
      let principal: EdgePrincipal;
      try {
        // A certificate the TLS listener admitted a moment ago is not admitted twice.
        const pre = info.certificate && verifiedCertificates.get(info.certificate.der);
        if (pre) principal = pre as EdgePrincipal;
        else {
          const credential = credentialOf(info);
          if (typeof credential === 'number') return { refuse: credential };
          principal = await s.admission.admit({
            credential,
            transport,
            source: info.remoteAddress,
            ...(credential.kind === 'device_key'
              ? { claims: { deviceId: credential.deviceId } }
              : {}),
          });
        }
      } catch (err) {
        if (err instanceof AdmissionError) return { refuse: admissionConnectCode(err) };
        throw err;
      }
      // A device's client id is its id; an empty one means exactly that (MQTT 5 tells it back).
      if (principal.type === 'device' && info.clientId !== '' && info.clientId !== principal.id)
        return { refuse: 0x85 };
      const clientId = principal.type === 'device' ? principal.id : info.clientId;
      const sessionId = randomUUID();
      const key = sessionKeyOf(principal, clientId || `anon-${sessionId}`);
      const who: HubClient = {
        sessionKey: key,
        type: principal.type,
        id: principal.id,
        orgId: principal.orgId,
        principal,
        sessionId,
        source: info.remoteAddress,
        transport,
        ...(principal.type === 'device' && principal.credential.kind === 'certificate'
          ? { certSerial: principal.credential.serial }
          : {}),
      };
      newest.set(key, who);
      return { id: key, principal: who, ...(clientId !== '' ? { clientId } : {}) };
    },

    // Synchronous when the channel rights are cached (every message asks): no promise per message.
    authorizePublish(c, topic) {
      const t = parseTopic(topic);
      const who = client(c);
      const verdict = (ok: boolean): number => {
        if (!ok) denied(who, 'publish', topic);
        return ok ? 0 : 0x87;
      };
      if (t?.kind === 'channel') {
        if (!mayUse(who.principal, 'channels') || t.subtopic === '#') return verdict(false);
        return then(s.messaging.canPublish(who, t.channelId), verdict);
      }
      return verdict(
        t?.kind === 'device' &&
          who.type === 'device' &&
          t.deviceId === who.id &&
          t.rest !== '' &&
          mayUse(who.principal, planeOf(t.rest)) &&
          // With the management plane on, what the hub sends is not the device's to publish.
          !(s.devicePlane && fromHub(t.rest)),
      );
    },

    async authorizeSubscribe(c, filter, qos) {
      const t = parseTopic(filter);
      const who = client(c);
      const ok =
        t?.kind === 'channel'
          ? mayUse(who.principal, 'channels') && (await s.messaging.canSubscribe(who, t.channelId))
          : t?.kind === 'device' &&
            who.type === 'device' &&
            t.deviceId === who.id &&
            mayUse(who.principal, planeOf(t.rest));
      if (!ok) denied(who, 'subscribe', filter);
      return ok ? qos : 0x87;
    },

    onPublish(c, msg) {
      const t = parseTopic(msg.topic);
      if (t?.kind === 'device') return devicePublish(c, t.rest, msg);
      if (t?.kind !== 'channel') return;
      // Returned, not awaited: one promise less per message on the hot path.
      return s.messaging
        .ingest(client(c), {
          channelId: t.channelId,
          subtopic: t.subtopic,
          // MQTT 3.1.1 has no content type: such payloads are opaque bytes.
          contentType: msg.contentType,
          payload: msg.payload,
          protocol: 'mqtt',
        })
        .then(
          () => undefined,
          (err: unknown) => {
            throw new MqttRefusal(
              mqttReasonCode(err),
              err instanceof Error ? err.message : 'refused',
            );
          },
        );
    },

    // Storage behind: the connection stops reading instead of its messages being refused.
    backpressure: () => s.messaging.backpressure?.(),

    onConnect: (c) => {
      const who = client(c);
      s.onConnect?.(who);
      if (who.type !== 'device') return;
      s.events?.emit({
        type: 'device.connected',
        orgId: who.orgId,
        at: now(),
        deviceId: who.id,
        sessionId: who.sessionId,
        transport: who.transport,
        source: who.source,
        certSerial: who.certSerial ?? null,
      });
      s.devicePlane?.connected(who);
    },
    onDisconnect: (c, reason, info) => {
      const who = client(c);
      if (newest.get(c.id) === who) newest.delete(c.id);
      s.onDisconnect?.(who, reason);
      if (who.type !== 'device') return;
      // Taken over by a newer connection of the same device: it is still online (no offline
      // alert), but a credential that keeps fighting from two places is a conflict (monitoring).
      const takenOver = reason === 'session_taken_over';
      const successor = newest.get(c.id);
      if (takenOver && successor) {
        s.events?.emit({
          type: 'device.session_taken_over',
          orgId: who.orgId,
          at: now(),
          deviceId: who.id,
          transport: successor.transport,
          previousSource: who.source,
          source: successor.source,
        });
      }
      s.events?.emit({
        type: 'device.disconnected',
        orgId: who.orgId,
        at: now(),
        deviceId: who.id,
        sessionId: who.sessionId,
        transport: who.transport,
        reason,
        clean: info.clean,
      });
      s.devicePlane?.disconnected(who, reason, info.clean || takenOver);
    },
    onSubscribed: (c, subs) => {
      const who = client(c);
      if (who.type === 'device')
        s.devicePlane?.subscribed(
          who,
          subs.map((x) => x.filter),
        );
    },
  };
}

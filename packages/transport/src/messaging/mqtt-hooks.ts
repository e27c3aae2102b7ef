import { randomUUID } from 'node:crypto';
import type {
  ApiKeyService,
  AuthService,
  Device,
  MessagingClient,
  MessagingService,
  PkiService,
} from '@bulwark/core';
import { parseTopic } from '@bulwark/protocol';
import {
  MqttRefusal,
  type ClientIdentity,
  type ConnectInfo,
  type InboundPublish,
  type MqttHooks,
} from '../mqtt/hooks.js';
import { verifiedCertificates } from './mqtt-tls.js';
import { mqttReasonCode } from './reason-codes.js';

/** What the hub knows about a connected MQTT client. */
export interface HubClient extends MessagingClient {
  /** The certificate serial a device authenticated with (to cut it on revocation). */
  certSerial?: string;
  /** This connection's own id: a device's presence belongs to one connection. */
  sessionId: string;
}

/** Topics under `$devices/{id}/` that only the hub sends on (a device may not publish there). */
const HUB_TO_DEVICE = /^(twin\/desired|commands\/[^/]+|updates\/[^/]+)$/;

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
  auth: Pick<AuthService, 'authenticate'>;
  apiKeys?: ApiKeyService;
  pki: Pick<PkiService, 'authenticateDevice' | 'authenticateDeviceKey'>;
  messaging: Pick<MessagingService, 'canPublish' | 'canSubscribe' | 'ingest'>;
  /** Presence and denial counters. */
  onConnect?(client: HubClient): void;
  onDisconnect?(client: HubClient, reason: string): void;
  onDenied?(client: HubClient, what: 'publish' | 'subscribe', topic: string): void;
  /** Device management (twin, commands, presence …); without it the plane is routed as is. */
  devicePlane?: DevicePlaneHook;
}

const client = (c: ClientIdentity) => c.principal as HubClient;

/**
 * The hub's MQTT security: a device authenticates with its certificate (mutual TLS) or its device
 * key (username = device id, password = key); an application with an API key as the password.
 * Devices use their own `$devices/{id}/…` plane and the channels they are connected to; everything
 * else is denied. Every publish to a channel goes through messaging's ingest before it is
 * acknowledged, so a PUBACK means stored (persisted channels) and on the bus.
 */
export function hubMqttHooks(s: MqttHookServices): MqttHooks {
  const identity = (
    c: HubClient,
    clientId: string,
    info: ConnectInfo,
  ): ClientIdentity | { refuse: 0x85 } => {
    // A device's session is keyed on its id: another client id would let one device hold many.
    if (c.type === 'device' && clientId !== '' && clientId !== c.id) return { refuse: 0x85 };
    void info;
    return { id: c.type === 'device' ? c.id : clientId || `app-${c.id}`, principal: c };
  };
  return {
    async authenticate(info) {
      try {
        if (info.certificate) {
          // Verified by the TLS listener a moment ago, or (another transport) verified here.
          const pre = verifiedCertificates.get(info.certificate.der) as
            Awaited<ReturnType<MqttHookServices['pki']['authenticateDevice']>> | undefined;
          const { device, cert } =
            pre ??
            (await s.pki.authenticateDevice(info.certificate.subjectO ?? '', info.certificate.der));
          if (device.state === 'quarantined') return { refuse: 0x8a };
          return identity(
            {
              type: 'device',
              id: device.id,
              orgId: device.orgId,
              certSerial: cert.serial,
              sessionId: randomUUID(),
            },
            info.clientId,
            info,
          );
        }
        const password = info.password ? Buffer.from(info.password).toString('utf8') : undefined;
        if (!password) return { refuse: 0x87 };
        if (password.startsWith('bwk_')) {
          const p = await s.auth.authenticate(password);
          return identity(
            { type: 'api_key', id: p.id, orgId: p.orgId, sessionId: randomUUID() },
            info.clientId,
            info,
          );
        }
        if (!info.username) return { refuse: 0x86 };
        const device: Device | undefined = await s.pki.authenticateDeviceKey(
          info.username,
          password,
        );
        if (!device) return { refuse: 0x86 };
        if (device.state === 'quarantined') return { refuse: 0x8a };
        return identity(
          { type: 'device', id: device.id, orgId: device.orgId, sessionId: randomUUID() },
          info.clientId,
          info,
        );
      } catch {
        return { refuse: info.certificate ? 0x87 : 0x86 };
      }
    },

    async authorizePublish(c, topic) {
      const t = parseTopic(topic);
      const who = client(c);
      const ok =
        t?.kind === 'channel'
          ? t.subtopic !== '#' && (await s.messaging.canPublish(who, t.channelId))
          : t?.kind === 'device' &&
            who.type === 'device' &&
            t.deviceId === who.id &&
            t.rest !== '' &&
            // With the management plane on, what the hub sends is not the device's to publish.
            !(s.devicePlane && HUB_TO_DEVICE.test(t.rest));
      if (!ok) s.onDenied?.(who, 'publish', topic);
      return ok ? 0 : 0x87;
    },

    async authorizeSubscribe(c, filter, qos) {
      const t = parseTopic(filter);
      const who = client(c);
      const ok =
        t?.kind === 'channel'
          ? await s.messaging.canSubscribe(who, t.channelId)
          : t?.kind === 'device' && who.type === 'device' && t.deviceId === who.id;
      if (!ok) s.onDenied?.(who, 'subscribe', filter);
      return ok ? qos : 0x87;
    },

    async onPublish(c, msg) {
      const t = parseTopic(msg.topic);
      if (t?.kind === 'device') {
        const who = client(c);
        if (!s.devicePlane || who.type !== 'device') return; // routed as is
        try {
          return (await s.devicePlane.publish(who, t.rest, msg)) ? false : undefined;
        } catch (err) {
          throw new MqttRefusal(
            mqttReasonCode(err),
            err instanceof Error ? err.message : 'refused',
          );
        }
      }
      if (t?.kind !== 'channel') return;
      try {
        await s.messaging.ingest(client(c), {
          channelId: t.channelId,
          subtopic: t.subtopic,
          // MQTT 3.1.1 has no content type: such payloads are opaque bytes.
          contentType: msg.contentType ?? 'application/octet-stream',
          payload: msg.payload,
          protocol: 'mqtt',
        });
      } catch (err) {
        throw new MqttRefusal(mqttReasonCode(err), err instanceof Error ? err.message : 'refused');
      }
    },

    onConnect: (c) => {
      const who = client(c);
      s.onConnect?.(who);
      if (who.type === 'device') s.devicePlane?.connected(who);
    },
    onDisconnect: (c, reason, info) => {
      const who = client(c);
      s.onDisconnect?.(who, reason);
      if (who.type === 'device') s.devicePlane?.disconnected(who, reason, info.clean);
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

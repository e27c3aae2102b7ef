import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { channelTopic } from '@bulwark/protocol';
import { newId, type Bus, type LiveSessions, type Storage } from '@bulwark/core';
import {
  DEFAULT_GATE_LIMITS,
  attachMqttWebSocket,
  createMqttEngine,
  hubMqttHooks,
  listenMqttTls,
  listenTcp,
  mqttLiveSessions,
  openModeHooks,
  type MqttEngine,
} from '@bulwark/transport';
import type { HubConfig } from './config.js';
import { createDevicePlane, type DevicePlane } from './device-plane.js';
import type { HubMetrics } from './metrics.js';
import type { SessionTickets } from './session-tickets.js';
import { mqttStateOptions } from './mqtt-state.js';
import type { HubServices } from './services.js';

/** A fresh id for this hub process on the bus. */
export const newNodeId = (): string => newId();

/** The running brokers, for runtime.json and shutdown. */
export interface Brokers {
  engine: MqttEngine;
  /** Denied publishes and subscribes per client id since start. */
  denials: ReadonlyMap<string, number>;
  mqttPort: number;
  openPort: number | null;
  /** The address the open-mode listener is bound to (the audit checks look at it). */
  openAddress: string | null;
  /** Device management over MQTT (twin, commands, presence); `sweep()` runs one sweep now. */
  devicePlane: DevicePlane;
  /** The MQTT sessions (TLS and WebSocket) as access changes drive them. */
  live: LiveSessions;
  /** Serves another certificate on MQTT over TLS to new connections (a reload, decision 0025). */
  setTlsCredentials(c: { key: string; cert: string }): void;
  stop(): Promise<void>;
}

const mqttLog = (log: Logger) => ({
  warn: (o: object, m: string) => log.warn(o, m),
  info: (o: object, m: string) => log.info(o, m),
  debug: (o: object, m: string) => log.debug(o, m),
});

/**
 * Starts the MQTT engine with the hub's hooks on TLS (and WebSocket at /mqtt), the optional
 * open-mode plain-TCP listener, and the bus → engine delivery: every envelope reaches local MQTT
 * subscribers, except MQTT messages this node accepted itself (the engine routed those already).
 */
export async function startBrokers(d: {
  config: HubConfig;
  services: HubServices;
  storage: Storage;
  bus: Bus;
  nodeId: string;
  tls: { key: string; cert: string };
  /** The shared TLS session-ticket keys (decision 0022). */
  tickets: SessionTickets;
  https: HttpServer;
  log: Logger;
  metrics: HubMetrics;
}): Promise<Brokers> {
  const { config, services, log, metrics } = d;
  // Denied publishes/subscribes per client id (device id for devices), for monitoring.
  const denials = new Map<string, number>();
  const devicePlane = createDevicePlane({ services, log });
  const hooks = hubMqttHooks({
    admission: services.admission,
    messaging: services.messaging,
    events: services.events,
    devicePlane: devicePlane.hook,
    gatewayUplink: services.gatewayUplink,
    // A device's last seen is written with its presence by the device plane, in batches.
  });
  const state = mqttStateOptions(config, d.storage);
  const engine = createMqttEngine({
    hooks,
    limits: {
      maxPacketSize: config.maxPayloadBytes + 64 * 1024,
      inboundBudget: config.mqttInboundBudget,
    },
    log: mqttLog(log),
    state,
    onDenied: (x) => {
      metrics.denied.inc({ action: x.kind });
      const id = x.client.id;
      denials.set(id, (denials.get(id) ?? 0) + 1);
    },
  });
  // Retained messages and persistent sessions come back before the first client does.
  const restored = await engine.restore();
  log.info({ ...restored, node: state.node, shared: state.shared }, 'mqtt state restored');
  // In a cluster a session may end while no node holds it: any node deletes ended ones.
  const expirer = state.shared
    ? setInterval(() => {
        state.store
          .expire(Date.now())
          .catch((err: unknown) => log.warn({ err }, 'mqtt session expiry sweep failed'));
      }, 600_000).unref()
    : null;
  devicePlane.start(engine);
  const mqttTls = await listenMqttTls(engine, {
    port: config.mqttPort,
    host: config.httpHost,
    ...d.tls,
    ticketKeys: d.tickets.key,
    sessionTimeoutSeconds: d.tickets.sessionTimeoutSeconds,
    gate: {
      ...DEFAULT_GATE_LIMITS,
      concurrent: config.mqttHandshakes,
      queue: config.mqttPendingConnections,
    },
    verify: (subjectO, der, source) =>
      services.admission.admit({
        credential: { kind: 'certificate', der, claimedOrgId: subjectO },
        transport: 'mqtt',
        source,
      }),
    // Counted and logged from the admission rule's auth.failed event (edge.ts).
    onRefused: () => undefined,
  });
  d.tickets.attach(mqttTls.tls);
  const tlsServer = mqttTls.server;
  const detachWs = attachMqttWebSocket(d.https, engine, {
    path: '/mqtt',
    maxPayload: config.maxPayloadBytes + 64 * 1024,
  });
  const live = mqttLiveSessions(engine);

  const unsubscribe = await d.bus.subscribe((env) => {
    if (env.origin === d.nodeId && env.protocol === 'mqtt') return;
    engine.publish({
      topic: channelTopic(env.channelId, env.subtopic),
      payload: env.payload,
      qos: 1,
      properties: { contentType: env.contentType },
    });
  });

  let open: { engine: MqttEngine; server: Server } | undefined;
  if (config.mqttOpenPort !== null) {
    const openEngine = createMqttEngine({ hooks: openModeHooks(), log: mqttLog(log) });
    const server = await listenTcp(openEngine, {
      port: config.mqttOpenPort,
      host: config.mqttOpenHost,
    });
    open = { engine: openEngine, server };
    log.warn(
      { port: (server.address() as { port: number }).port, host: config.mqttOpenHost },
      'OPEN MODE MQTT listener: anonymous clients, no access control outside channels/ and $devices/, nothing stored — for conformance tests and benchmarks only',
    );
  }
  metrics.gauge(
    'bulwark_mqtt_connections',
    'Open MQTT connections',
    [],
    () => engine.stats().connections,
  );
  metrics.gauge(
    'bulwark_mqtt_queued_messages',
    'QoS 1/2 messages waiting in sessions',
    [],
    () => engine.stats().queued,
  );
  metrics.gauge(
    'bulwark_mqtt_dropped_messages',
    'Messages dropped, by reason (QoS 0 to slow subscribers)',
    ['reason'],
    () => engine.stats().dropped,
  );
  metrics.gauge(
    'bulwark_mqtt_backpressured',
    'Times an MQTT connection stopped reading because storage was behind',
    [],
    () => engine.stats().backpressured,
  );
  metrics.gauge(
    'bulwark_mqtt_inbound_held',
    'MQTT PUBLISH packets read and not yet finished (authorized, stored, acknowledged), all connections',
    [],
    () => engine.stats().inboundHeld,
  );
  metrics.gauge(
    'bulwark_mqtt_over_budget',
    'Times an MQTT connection stopped reading because the engine held its inbound budget',
    [],
    () => engine.stats().overBudget,
  );
  metrics.gauge(
    'bulwark_mqtt_messages_in',
    'MQTT PUBLISH packets received',
    [],
    () => engine.stats().messagesIn,
  );
  metrics.gauge(
    'bulwark_mqtt_messages_out',
    'MQTT PUBLISH packets sent',
    [],
    () => engine.stats().messagesOut,
  );

  metrics.gauge(
    'bulwark_mqtt_pending_connections',
    'MQTT/TLS connections waiting for a handshake slot (FIFO), and in their handshake',
    ['state'],
    () => {
      const g = mqttTls.gate.stats();
      return { waiting: g.waiting, handshaking: g.active };
    },
  );
  metrics.gauge(
    'bulwark_mqtt_refused_busy',
    'MQTT/TLS connections turned away since start because the queue was full, by how',
    ['how'],
    () => {
      const g = mqttTls.gate.stats();
      return { connack_0x89: g.busy, closed: g.closed };
    },
  );
  metrics.gauge(
    'bulwark_tls_handshakes',
    'MQTT/TLS handshakes since start, full and resumed (session tickets)',
    ['kind'],
    () => {
      return mqttTls.handshakes();
    },
  );
  const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
  return {
    engine,
    denials,
    mqttPort: (tlsServer.address() as { port: number }).port,
    openPort: open ? (open.server.address() as { port: number }).port : null,
    openAddress: open ? (open.server.address() as { address: string }).address : null,
    devicePlane,
    live,
    setTlsCredentials: (c) => mqttTls.setCredentials(c),
    async stop() {
      if (expirer !== null) clearInterval(expirer);
      devicePlane.stop();
      await unsubscribe();
      detachWs();
      const closing = [close(tlsServer), ...(open ? [close(open.server)] : [])];
      await engine.close();
      await devicePlane.drain();
      if (open) await open.engine.close();
      await Promise.all(closing);
    },
  };
}

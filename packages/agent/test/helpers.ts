/**
 * Agent test helpers: an in-process hub on a temp data dir (restartable on the same dir and ports),
 * a provisioned device, an agent configuration, and a broker that plays the hub's device plane.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import pino from 'pino';
import { createClient, type BulwarkClient } from '@bulwark/sdk';
import type { Clock } from '@bulwark/core';
import { loadConfig, startHub, type Hub, type HubOptions } from '@bulwark/hub';
import {
  createMqttEngine,
  listenTcp,
  type InboundPublish,
  type MqttEngine,
} from '@bulwark/transport';
import { parseAgentConfig, type AgentConfig } from '../src/config.js';

/** A clock tests can move forward. */
export class FakeClock implements Clock {
  constructor(public t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestHub {
  hub: Hub;
  dir: string;
  url: string;
  ca: string;
  caFile: string;
  mqttPort: number;
  clock: FakeClock;
  client(token?: string): BulwarkClient;
  /** Stops the hub (the data dir stays). */
  stop(): Promise<void>;
  /** Starts a hub again on the same data dir and ports. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a hub on 127.0.0.1, any free port, in a fresh temp dir. */
export async function startTestHub(
  extra: string[] = [],
  hubOpts: Pick<HubOptions, 'relayTap'> = {},
): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-agent-hub-'));
  const clock = new FakeClock();
  let running = true;
  const boot = async (httpPort: number, mqttPort: number) => {
    const config = loadConfig(
      [
        '--data-dir',
        dir,
        '--http-port',
        String(httpPort),
        '--mqtt-port',
        String(mqttPort),
        '--http-host',
        '127.0.0.1',
        '--log-level',
        'warn',
        // Tests want fast hashes; the minimum the hub allows.
        ...extra,
      ],
      {},
    );
    return startHub(config, {
      print: () => undefined,
      logger: pino({ level: 'silent' }),
      clock,
      ...hubOpts,
    });
  };
  const first = await boot(0, 0);
  const t: TestHub = {
    hub: first,
    dir,
    url: first.info.url,
    ca: readFileSync(first.info.caFile, 'utf8'),
    caFile: first.info.caFile,
    mqttPort: first.info.mqttPort,
    clock,
    client: (token) => {
      const dispatcher = new UndiciAgent({ connect: { ca: t.ca } });
      const f = ((input: string, init?: RequestInit) =>
        undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
      return createClient({ baseUrl: t.url, ...(token ? { token } : {}), fetch: f });
    },
    async stop() {
      if (!running) return;
      running = false;
      await t.hub.stop();
    },
    async restart() {
      await t.stop();
      const port = Number(new URL(t.url).port);
      t.hub = await boot(port, t.mqttPort);
      running = true;
    },
    async close() {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export const PASSWORD = 'a long and unguessable passphrase';

/** Completes setup; returns an API client with device and channel rights. */
export async function setupOwner(t: TestHub) {
  const anon = t.client();
  const setup = await anon.setup.complete({
    token: t.hub.setupToken!,
    organization: 'Acme',
    email: 'owner@example.com',
    name: 'Owner',
    password: PASSWORD,
  });
  const tokens = await anon.auth.login({ email: 'owner@example.com', password: PASSWORD });
  const owner = t.client(tokens.accessToken);
  const { key } = await owner.apiKeys.create({
    name: 'test',
    permissions: ['devices:read', 'devices:manage', 'users:manage', 'api-keys:manage'],
  });
  return { orgId: setup.organization.id, api: t.client(key), apiKey: key };
}

/** Registers a device that may publish to a channel; returns its id and a one-time token. */
export async function provisionDevice(
  api: BulwarkClient,
  name: string,
  channelId: string,
): Promise<{ deviceId: string; token: string }> {
  const d = await api.devices.create({ name, type: 'sensor' });
  await api.call('connectClient', {
    params: { id: channelId },
    body: { clientType: 'device', clientId: d.id, publish: true, subscribe: false },
  });
  const { token } = await api.devices.createEnrollmentToken(d.id, {});
  return { deviceId: d.id, token };
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'bulwark-agent-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An agent configuration for a test hub (fast backoff, short grace). */
export function agentConfig(
  t: { url: string; caFile: string; mqttPort: number },
  stateDir: string,
  extra: Record<string, unknown> = {},
): AgentConfig {
  const { connection, ...rest } = extra as { connection?: Record<string, unknown> };
  return parseAgentConfig({
    hubUrl: t.url,
    mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
    caFile: t.caFile,
    stateDir,
    connection: { backoffMinMs: 50, backoffMaxMs: 500, ...connection },
    ...rest,
  });
}

/** Waits until `cond()` holds (polling), or fails after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every stored message of a channel, oldest first, payloads decoded as UTF-8. */
export async function channelPayloads(api: BulwarkClient, channelId: string): Promise<string[]> {
  const out: { at: string; id: string; p: string }[] = [];
  for await (const m of api.channels.allMessages(channelId, { limit: 500 }))
    out.push({ at: m.receivedAt, id: m.id, p: Buffer.from(m.payload, 'base64').toString('utf8') });
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).map((m) => m.p);
}

/**
 * An MQTT broker that plays the hub's device plane for one test: any client, any topic (plain TCP
 * on loopback). It records what devices publish and injects what the hub would send.
 */
export interface PlayHub {
  port: number;
  engine: MqttEngine;
  received: InboundPublish[];
  /** Messages on a topic so far, payloads parsed as JSON. */
  json<T>(topic: string): T[];
  /** Sends a message to subscribers (QoS 1; retained if asked). */
  send(topic: string, payload: unknown, retain?: boolean): void;
  /** Stops listening and drops every connection. */
  stop(): Promise<void>;
  /** Listens again on the same port (a fresh engine: sessions are lost, as after a hub restart). */
  restart(): Promise<void>;
}

export async function startPlayHub(): Promise<PlayHub> {
  const received: InboundPublish[] = [];
  let server: Server | undefined;
  // Every accepted socket: one still connecting when the engine closes is not the engine's yet,
  // and server.close() would wait for it.
  const sockets = new Set<Socket>();
  const track = (srv: Server) =>
    srv.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
  const make = () =>
    createMqttEngine({
      hooks: {
        authenticate: (info) => ({ id: info.clientId, principal: null }),
        authorizePublish: () => 0,
        authorizeSubscribe: (_c, _f, qos) => qos,
        onPublish: (_c, msg) => {
          received.push(msg);
        },
      },
    });
  const p: PlayHub = {
    port: 0,
    engine: make(),
    received,
    json: <T>(topic: string) =>
      received
        .filter((m) => m.topic === topic)
        .map((m) => JSON.parse(Buffer.from(m.payload).toString('utf8')) as T),
    send(topic, payload, retain = false) {
      p.engine.publish({
        topic,
        payload: Buffer.from(JSON.stringify(payload)),
        qos: 1,
        retain,
      });
    },
    async stop() {
      // Stop accepting first, then drop the live connections: no reconnect slips in between.
      const s = server;
      server = undefined;
      const closed = new Promise<void>((r) => (s ? s.close(() => r()) : r()));
      await p.engine.close();
      for (const sock of sockets) sock.destroy();
      await closed;
    },
    async restart() {
      await p.stop();
      p.engine = make();
      server = track(await listenTcp(p.engine, { port: p.port, host: '127.0.0.1' }));
    },
  };
  server = track(await listenTcp(p.engine, { port: 0, host: '127.0.0.1' }));
  p.port = (server.address() as { port: number }).port;
  return p;
}

export function cleanup(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** The next `event` of an emitter, or a failure after `ms`. Create it before what triggers the event. */
export function nextEvent<T = unknown>(
  emitter: {
    once(e: string, f: (v: T) => void): unknown;
    off(e: string, f: (v: T) => void): unknown;
  },
  event: string,
  ms = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (v: T) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} event within ${ms} ms`));
    }, ms);
    emitter.once(event, on);
  });
}

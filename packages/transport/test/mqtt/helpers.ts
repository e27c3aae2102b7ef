/** Shared test helpers: an engine on a loopback port, MQTT.js clients, small waits. */
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { createMqttEngine, listenTcp, openModeHooks } from '../../src/mqtt/index.js';
import type { MqttEngine, MqttEngineOptions } from '../../src/mqtt/index.js';

/** A running engine on 127.0.0.1:port. */
export interface Broker {
  engine: MqttEngine;
  port: number;
  close(): Promise<void>;
}

/** Start an engine (open-mode hooks unless given) with a TCP listener on a free port. */
export async function startBroker(opts: MqttEngineOptions = {}): Promise<Broker> {
  const engine = createMqttEngine({ hooks: openModeHooks(), ...opts });
  const server = await listenTcp(engine, { port: 0 });
  const port = (server.address() as AddressInfo).port;
  return {
    engine,
    port,
    async close() {
      await engine.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Connect an MQTT.js client (no auto-reconnect) and wait for CONNACK. */
export function connect(port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync({
    host: '127.0.0.1',
    port,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...opts,
  });
}

/** Try to connect and return the CONNACK error code (or 0 on success, closing the client). */
export function connackCode(port: number, opts: IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...opts });
    c.on('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.on('error', (e: Error & { code?: number }) => {
      c.end(true);
      resolve(e.code ?? -1);
    });
  });
}

/** Wait until `pred` holds (polling), or fail after `ms`. */
export async function until(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collect messages a client receives. */
export function collect(c: MqttClient): Array<{
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  props: unknown;
}> {
  const out: Array<{
    topic: string;
    payload: string;
    qos: number;
    retain: boolean;
    dup: boolean;
    props: unknown;
  }> = [];
  c.on('message', (topic, payload, packet) => {
    out.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      props: packet.properties,
    });
  });
  return out;
}

/** The repository root: the nearest ancestor whose package.json declares workspaces. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }).workspaces
    ) {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
}

/** True under CI, where missing tools or data are failures, not skips. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The MQTT engine's state store as the hub configures it (decision 0020): the storage's
 * `mqttState`, under this node's stable name (kept in the data dir, so a restarted node holds
 * what it held before), shared when several nodes use one database and one NATS bus.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage } from '@bulwark/core';
import type { MqttStateOptions } from '@bulwark/transport';
import type { HubConfig } from './config.js';

/** This data dir's node name for MQTT session ownership, created once. */
export function mqttNodeName(dataDir: string): string {
  const path = join(dataDir, 'mqtt-node');
  if (existsSync(path)) {
    const name = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(name)) return name;
  }
  const name = randomUUID();
  writeFileSync(path, name + '\n', { mode: 0o600 });
  return name;
}

/** True when this hub is one node of a cluster: PostgreSQL shared with others over NATS. */
export function isClustered(config: Pick<HubConfig, 'bus' | 'database'>): boolean {
  return config.bus.startsWith('nats://') && /^postgres(ql)?:\/\//.test(config.database);
}

/** The engine's `state` option. */
export function mqttStateOptions(
  config: Pick<HubConfig, 'bus' | 'database' | 'dataDir'>,
  storage: Storage,
): MqttStateOptions {
  return {
    store: storage.mqttState,
    node: mqttNodeName(config.dataDir),
    shared: isClustered(config),
  };
}

/**
 * The gateway's configuration file: the agent's fields (the gateway is an enrolled device, run by
 * the agent) plus a `gateway` section for the local broker, the uplink queue and the site sync.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseAgentConfig, type AgentConfig } from '@bulwark/agent';

export class GatewayConfigError extends Error {}

export interface GatewayConfig {
  agent: AgentConfig;
  broker: {
    host: string;
    port: number;
    /** The TLS server certificate (chain) and key site devices see. */
    certFile: string;
    keyFile: string;
  };
  queue: {
    /** The queue refuses new messages (MQTT 0x97 Quota exceeded) beyond this many… */
    maxMessages: number;
    /** …or this many payload bytes. */
    maxBytes: number;
  };
  uplink: {
    /** Messages per batch, and the bytes of a batch's payloads. */
    batchMessages: number;
    batchBytes: number;
    /** Batches awaiting the hub's acknowledgement at once. */
    inflight: number;
    /** Messages per second forwarded at most (backlog and live traffic together). */
    ratePerSecond: number;
  };
  /** How often the site (CAs, CRL, devices, rights) is fetched from the hub. */
  syncIntervalMs: number;
  /** The site inventory from mDNS announcements on the LAN (inventory.ts). */
  inventory: {
    enabled: boolean;
    /** Time between scan rounds, and how long each round listens. */
    intervalMs: number;
    listenMs: number;
    /** Rounds a device may go unheard before it is reported gone. */
    missedRounds: number;
    /** The IPv4 address of the LAN interface to scan on; unset: every interface. */
    interface?: string;
    /** The mDNS UDP port (5353). */
    mdnsPort: number;
  };
  /** The firmware cache for the site's devices (firmware-cache.ts, firmware-server.ts). */
  cache: {
    enabled: boolean;
    /** Its HTTPS listener on the LAN (the broker's certificate). */
    host: string;
    port: number;
    /** Images kept at most (least recently used evicted; an image being served never). */
    maxBytes: number;
    /** How often a changed cache status is reported to the hub as an event. */
    reportIntervalMs: number;
  };
}

const DEFAULTS = {
  broker: { host: '0.0.0.0', port: 8883 },
  queue: { maxMessages: 1_000_000, maxBytes: 1024 * 1024 * 1024 },
  uplink: { batchMessages: 500, batchBytes: 192 * 1024, inflight: 4, ratePerSecond: 20_000 },
  syncIntervalSeconds: 60,
  inventory: { intervalSeconds: 60, listenMs: 3000, missedRounds: 3, mdnsPort: 5353 },
};

type Raw = Record<string, unknown>;
const obj = (v: unknown, path: string, keys: string[]): Raw => {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new GatewayConfigError(`${path} must be an object`);
  for (const k of Object.keys(v))
    if (!keys.includes(k)) throw new GatewayConfigError(`${path}.${k} is not a known field`);
  return v as Raw;
};
const int = (v: unknown, path: string, dflt: number, min: number, max: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new GatewayConfigError(`${path} must be a whole number from ${min} to ${max}`);
  return v;
};
const str = (v: unknown, path: string, dflt?: string): string => {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw new GatewayConfigError(`${path} must be a string`);
  return v;
};

/** Checks a parsed configuration file; paths are relative to `baseDir`. */
export function parseGatewayConfig(raw: unknown, baseDir = process.cwd()): GatewayConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new GatewayConfigError('the configuration must be an object');
  const { gateway, ...agentRaw } = raw as Raw;
  const g = obj(gateway, 'gateway', [
    'broker',
    'queue',
    'uplink',
    'syncIntervalSeconds',
    'inventory',
    'cache',
  ]);
  const inv = obj(g['inventory'], 'gateway.inventory', [
    'enabled',
    'intervalSeconds',
    'listenMs',
    'missedRounds',
    'interface',
    'mdnsPort',
  ]);
  const enabled = inv['enabled'] ?? true;
  if (typeof enabled !== 'boolean')
    throw new GatewayConfigError('gateway.inventory.enabled must be true or false');
  const b = obj(g['broker'], 'gateway.broker', ['host', 'port', 'certFile', 'keyFile']);
  const q = obj(g['queue'], 'gateway.queue', ['maxMessages', 'maxBytes']);
  const u = obj(g['uplink'], 'gateway.uplink', [
    'batchMessages',
    'batchBytes',
    'inflight',
    'ratePerSecond',
  ]);
  const D = DEFAULTS;
  return {
    agent: parseAgentConfig(agentRaw, baseDir),
    broker: {
      host: str(b['host'], 'gateway.broker.host', D.broker.host),
      port: int(b['port'], 'gateway.broker.port', D.broker.port, 0, 65535),
      certFile: resolve(baseDir, str(b['certFile'], 'gateway.broker.certFile')),
      keyFile: resolve(baseDir, str(b['keyFile'], 'gateway.broker.keyFile')),
    },
    queue: {
      maxMessages: int(q['maxMessages'], 'gateway.queue.maxMessages', D.queue.maxMessages, 1, 1e9),
      maxBytes: int(q['maxBytes'], 'gateway.queue.maxBytes', D.queue.maxBytes, 1024, 2 ** 50),
    },
    uplink: {
      batchMessages: int(
        u['batchMessages'],
        'gateway.uplink.batchMessages',
        D.uplink.batchMessages,
        1,
        1000,
      ),
      batchBytes: int(
        u['batchBytes'],
        'gateway.uplink.batchBytes',
        D.uplink.batchBytes,
        1024,
        192 * 1024,
      ),
      inflight: int(u['inflight'], 'gateway.uplink.inflight', D.uplink.inflight, 1, 64),
      ratePerSecond: int(
        u['ratePerSecond'],
        'gateway.uplink.ratePerSecond',
        D.uplink.ratePerSecond,
        1,
        1e7,
      ),
    },
    syncIntervalMs:
      int(
        g['syncIntervalSeconds'],
        'gateway.syncIntervalSeconds',
        D.syncIntervalSeconds,
        1,
        86_400,
      ) * 1000,
    inventory: inventoryConfig(inv, enabled),
    cache: cacheConfig(g['cache'], D.broker.host),
  };
}

function inventoryConfig(inv: Raw, enabled: boolean): GatewayConfig['inventory'] {
  const D = DEFAULTS.inventory;
  const path = 'gateway.inventory';
  const intervalMs =
    int(inv['intervalSeconds'], `${path}.intervalSeconds`, D.intervalSeconds, 5, 86_400) * 1000;
  const listenMs = int(inv['listenMs'], `${path}.listenMs`, D.listenMs, 100, 60_000);
  if (listenMs >= intervalMs)
    throw new GatewayConfigError(`${path}.listenMs must be shorter than intervalSeconds`);
  return {
    enabled,
    intervalMs,
    listenMs,
    missedRounds: int(inv['missedRounds'], `${path}.missedRounds`, D.missedRounds, 1, 100),
    mdnsPort: int(inv['mdnsPort'], `${path}.mdnsPort`, D.mdnsPort, 1, 65535),
    ...(inv['interface'] === undefined
      ? {}
      : { interface: str(inv['interface'], `${path}.interface`) }),
  };
}

function cacheConfig(raw: unknown, host: string): GatewayConfig['cache'] {
  const path = 'gateway.cache';
  const c = obj(raw, path, ['enabled', 'host', 'port', 'maxBytes', 'reportIntervalSeconds']);
  const enabled = c['enabled'] ?? false;
  if (typeof enabled !== 'boolean')
    throw new GatewayConfigError(`${path}.enabled must be true or false`);
  return {
    enabled,
    host: str(c['host'], `${path}.host`, host),
    port: int(c['port'], `${path}.port`, 8443, 0, 65535),
    maxBytes: int(c['maxBytes'], `${path}.maxBytes`, 4 * 1024 ** 3, 1024, 2 ** 50),
    reportIntervalMs:
      int(c['reportIntervalSeconds'], `${path}.reportIntervalSeconds`, 300, 1, 86_400) * 1000,
  };
}

/** Reads and checks a configuration file. */
export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new GatewayConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseGatewayConfig(raw, dirname(resolve(file)));
}

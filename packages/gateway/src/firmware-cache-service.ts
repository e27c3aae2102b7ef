/**
 * The firmware cache as one part of the gateway: the store (firmware-cache.ts) fed from the hub
 * (firmware-upstream.ts), its HTTPS server on the LAN (firmware-server.ts), and its reports to the
 * hub as the gateway's own device events — `site.firmware_cached` when an image was fetched and
 * verified, `site.firmware_cache_status` (bytes served, fetched and saved …) every
 * `reportIntervalMs` when the counters moved — so the hub shows the bytes saved without a new
 * wire contract.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Agent } from '@bulwark/agent';
import type { DeviceEvent } from '@bulwark/protocol';
import type { GatewayConfig } from './config.js';
import { FirmwareCache, type ArtifactSource, type CacheStats } from './firmware-cache.js';
import { startFirmwareServer, type FirmwareServer } from './firmware-server.js';
import { hubArtifactSource } from './firmware-upstream.js';
import type { Site } from './site.js';

export interface FirmwareCacheStatus extends CacheStats {
  port: number | undefined;
  savedBytes: number;
  entries: number;
  bytes: number;
  refused: Record<string, number>;
}

export class FirmwareCacheService {
  readonly cache: FirmwareCache;
  #server: FirmwareServer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastReport = '';

  constructor(
    private readonly o: {
      agent: Agent;
      config: GatewayConfig['cache'];
      dir: string;
      site: () => Site | undefined;
      log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
      /** The hub by default. */
      source?: ArtifactSource;
      /** Remote-access relay legs on the same LAN server (relay-forward.ts). */
      relay?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
    },
  ) {
    this.cache = new FirmwareCache({
      dir: join(o.dir, 'cache'),
      maxBytes: o.config.maxBytes,
      source: o.source ?? hubArtifactSource(o.agent),
      log: o.log,
      onCached: (id, facts) =>
        this.#report('site.firmware_cached', {
          artifactId: id,
          length: facts.length,
          sha256: facts.sha256,
        }),
    });
  }

  async start(cert: string, key: string): Promise<void> {
    await this.cache.load();
    this.#server = await startFirmwareServer({
      host: this.o.config.host,
      port: this.o.config.port,
      cert,
      key,
      site: this.o.site,
      cache: this.cache,
      log: this.o.log,
      ...(this.o.relay ? { relay: this.o.relay } : {}),
    });
    this.#timer = setInterval(() => this.reportStatus(), this.o.config.reportIntervalMs);
    this.#timer.unref();
    this.o.log('info', `firmware cache listening on ${this.o.config.host}:${this.#server.port}`);
  }

  apply(site: Site): void {
    this.#server?.apply(site);
  }

  status(): FirmwareCacheStatus {
    return {
      port: this.#server?.port,
      ...this.cache.stats,
      savedBytes: this.cache.savedBytes,
      ...this.cache.size,
      refused: { ...this.#server?.refused },
    };
  }

  /** Reports the counters as an event if they moved since the last report. */
  reportStatus(): void {
    const { port: _port, refused, ...s } = this.status();
    const key = JSON.stringify(s);
    if (key === this.#lastReport) return;
    this.#lastReport = key;
    this.#report('site.firmware_cache_status', { ...s, refused });
  }

  #report(kind: string, detail: DeviceEvent['detail']): void {
    this.o.agent.report({ kind, severity: 'info', at: new Date().toISOString(), detail });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#server?.close();
  }
}

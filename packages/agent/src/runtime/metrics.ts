/**
 * Device metrics sampling: a snapshot every `sampling.metricsIntervalSeconds` (twin) or
 * `metrics.intervalSeconds` while the agent is online, published at QoS 0 (never queued: a stale
 * snapshot is worth nothing) when connected, and fed to the autonomous rules.
 */
import { deviceTopic, type DeviceMetrics } from '@bulwark/protocol';
import type { AgentConfig } from '../config.js';
import type { DeviceSystem } from '../ports.js';
import type { Link } from './link.js';
import type { Twin } from './twin.js';

/** What metrics sampling works with. */
export interface MetricsDeps {
  config: AgentConfig;
  system: DeviceSystem;
  twin: Twin;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  deviceId(): string | undefined;
  /** The current link, if any (published over only while connected). */
  link(): Link | undefined;
  /** Whether the agent is online (sampling continues only then). */
  online(): boolean;
  /** Emits the agent's `metrics` event. */
  emit(m: DeviceMetrics): void;
  /** Feeds the autonomous rules. */
  onMetrics(m: DeviceMetrics): Promise<void>;
}

const enc = new TextEncoder();

/** Samples device metrics on a timer. */
export class MetricsSampler {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: MetricsDeps) {}

  /** Schedules the next snapshot (and each one after it while online). */
  schedule(): void {
    const secs =
      (this.deps.twin.get('sampling.metricsIntervalSeconds') as number | undefined) ??
      this.deps.config.metrics.intervalSeconds;
    this.timer = setTimeout(() => {
      void this.sample().finally(() => {
        if (this.deps.online()) this.schedule();
      });
    }, secs * 1000);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Takes one snapshot: published (QoS 0, not queued) when connected, fed to the rules. */
  async sample(): Promise<DeviceMetrics | undefined> {
    let m: DeviceMetrics;
    try {
      m = await this.deps.system.metrics();
    } catch (err) {
      this.deps.log('warn', `metrics: ${(err as Error).message}`);
      return undefined;
    }
    this.deps.emit(m);
    const id = this.deps.deviceId();
    const link = this.deps.link();
    if (id !== undefined && link?.connected)
      await link
        .publish(deviceTopic.metrics(id), enc.encode(JSON.stringify(m)), { qos: 0 })
        .catch(() => undefined);
    await this.deps.onMetrics(m);
    return m;
  }
}

/**
 * Autonomous rules: simple "event → action" rules the device runs on its own — always in
 * autonomous mode, and in controlled mode only while the link to the hub is lost. A metric rule
 * fires when its condition becomes true (not again until it has been false), so a CPU spike does
 * not set the same parameter every minute. Every action is recorded as an event, which reaches the
 * hub when the link returns.
 */
import type { DeviceEvent, DeviceMetrics, TwinValue } from '@bulwark/protocol';
import type { AutonomousRule, RuleMetric } from '../config.js';

/** What the rules act through. */
export interface AutonomyDeps {
  /** Whether rules may act now (autonomous mode, or controlled mode with the link lost). */
  active(): boolean;
  set(path: string, value: TwinValue): Promise<void>;
  report(event: Omit<DeviceEvent, 'at'>): void;
}

const pct = (part: number, total: number) => (total > 0 ? (100 * part) / total : 0);

/** The value of a rule metric in a snapshot. */
export function metricValue(m: DeviceMetrics, metric: RuleMetric): number {
  switch (metric) {
    case 'cpuPercent':
      return m.cpuPercent;
    case 'memoryPercent':
      return pct(m.memory.totalBytes - m.memory.availableBytes, m.memory.totalBytes);
    case 'diskPercent':
      return pct(m.disk.totalBytes - m.disk.availableBytes, m.disk.totalBytes);
    case 'connections':
      return m.connections;
  }
}

/** Evaluates the configured rules. */
export class Autonomy {
  /** Rules whose metric condition held at the last evaluation (index → true). */
  private readonly holding = new Set<number>();

  constructor(
    private readonly rules: readonly AutonomousRule[],
    private readonly deps: AutonomyDeps,
  ) {}

  /** Called with every metrics snapshot. */
  async onMetrics(m: DeviceMetrics): Promise<void> {
    for (const [i, r] of this.rules.entries()) {
      if (!('metric' in r.when)) continue;
      const v = metricValue(m, r.when.metric);
      const holds =
        (r.when.above === undefined || v > r.when.above) &&
        (r.when.below === undefined || v < r.when.below);
      const rising = holds && !this.holding.has(i);
      if (holds) this.holding.add(i);
      else this.holding.delete(i);
      if (rising && this.deps.active())
        await this.fire(r, i, { metric: r.when.metric, value: Math.round(v * 100) / 100 });
    }
  }

  /** Called when the link is declared lost (after the grace period) or restored. */
  async onLink(event: 'link-lost' | 'link-restored'): Promise<void> {
    for (const [i, r] of this.rules.entries()) {
      if ('event' in r.when && r.when.event === event) await this.fire(r, i, { event });
    }
  }

  private async fire(r: AutonomousRule, i: number, trigger: { [k: string]: TwinValue }) {
    const applied: { [k: string]: TwinValue } = {};
    const errors: { [k: string]: TwinValue } = {};
    for (const [path, value] of Object.entries(r.then.set ?? {})) {
      try {
        await this.deps.set(path, value);
        applied[path] = value;
      } catch (err) {
        errors[path] = (err as Error).message;
      }
    }
    this.deps.report({
      kind: 'autonomous-action',
      severity: Object.keys(errors).length > 0 ? 'warning' : 'info',
      detail: { rule: r.name ?? `rule-${i}`, trigger, set: applied, errors },
    });
    if (r.then.event)
      this.deps.report({
        kind: r.then.event.kind,
        severity: r.then.event.severity,
        detail: { rule: r.name ?? `rule-${i}`, trigger },
      });
  }
}

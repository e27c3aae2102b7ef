/**
 * Counters and histograms for per-message paths (decision 0033 §2). prom-client validates and
 * hashes the labels on every `inc`/`observe`, even through a labelled child: a few microseconds
 * and several objects per call, which the ingest profile showed as ~9 % of the hub's main thread
 * at 12,000 msg/s. Here a label set is resolved once to a slot of plain numbers, and the registry
 * reads the slots only when it is scraped (these objects implement the metric interface the
 * registry serializes: name, help, type, aggregator, get()).
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What prom-client's registry needs of a metric. */
abstract class FastMetric<Slot> {
  readonly aggregator = 'sum' as const;
  readonly #slots = new Map<string, { labels: Labels; slot: Slot }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract newSlot(): Slot;
  protected abstract values(labels: Labels, slot: Slot): MetricValue[];

  /** The slot of one label set, made on first use; keep it and update it directly. */
  slot(...labelValues: string[]): Slot {
    const key = labelValues.length === 1 ? labelValues[0]! : labelValues.join('\u0000');
    let entry = this.#slots.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => (labels[n] = labelValues[i] ?? ''));
      entry = { labels, slot: this.newSlot() };
      this.#slots.set(key, entry);
    }
    return entry.slot;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValue[];
    aggregator: string;
  }> {
    const values: MetricValue[] = [];
    for (const { labels, slot } of this.#slots.values()) values.push(...this.values(labels, slot));
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  reset(): void {
    this.#slots.clear();
  }
}

/** A counter slot: add to `n`. */
export interface CounterSlot {
  n: number;
}

export class FastCounter extends FastMetric<CounterSlot> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry);
  }

  protected newSlot(): CounterSlot {
    return { n: 0 };
  }

  protected values(labels: Labels, slot: CounterSlot): MetricValue[] {
    return [{ labels, value: slot.n }];
  }

  /** Adds one (or `by`) to the label set's count. */
  inc(labelValues: readonly string[], by = 1): void {
    this.slot(...labelValues).n += by;
  }
}

/** A histogram slot: counts per bucket (not cumulative), the sum and the count. */
export class HistogramSlot {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram extends FastMetric<HistogramSlot> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', labelNames, registry);
  }

  protected newSlot(): HistogramSlot {
    return new HistogramSlot(this.bounds);
  }

  protected values(labels: Labels, slot: HistogramSlot): MetricValue[] {
    const out: MetricValue[] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += slot.counts[i]!;
      out.push({
        labels: { le: String(le), ...labels },
        value: cumulative,
        metricName: `${this.name}_bucket`,
      });
    });
    out.push({
      labels: { le: '+Inf', ...labels },
      value: slot.count,
      metricName: `${this.name}_bucket`,
    });
    out.push({ labels, value: slot.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: slot.count, metricName: `${this.name}_count` });
    return out;
  }
}

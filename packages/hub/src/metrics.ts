import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastHistogram, type HistogramSlot } from './fast-metrics.js';
import type { CallObserver } from './instrument.js';

/** The hub's Prometheus metrics (one registry per hub: several hubs may share a process in tests). */
export interface HubMetrics {
  readonly registry: Registry;
  /** Per message: plain slots read at scrape time (fast-metrics.ts). Labels: protocol. */
  readonly messagesIn: FastCounter;
  /** Labels: protocol, reason. */
  readonly messagesRefused: FastCounter;
  /** Failed client authentications; `reason` is a small fixed set per protocol. */
  readonly authFailures: Counter<'protocol' | 'reason'>;
  /** Failed HTTP requests of anonymous callers (the audit log keeps only a sample of them). */
  readonly anonymousFailures: Counter;
  readonly denied: Counter<'action'>;
  readonly storageWrite: Histogram<'outcome'>;
  /** Envelopes per message batch: shows whether group commit fills batches (decision 0019). */
  readonly storageBatchRows: Histogram;
  /** Labels: service, method, outcome. */
  readonly serviceCalls: FastHistogram;
  /** Registers a gauge whose value is read at scrape time. */
  gauge(
    name: string,
    help: string,
    labels: string[],
    collect: () => Record<string, number> | number,
  ): void;
  /** An instrument() observer feeding `bulwark_service_call_seconds`. */
  observeCalls: CallObserver;
}

/** Makes the registry with Node's default process metrics and Bulwark's own. */
export function createMetrics(): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bulwark_process_' });
  const registers = [registry];
  // Observed on every service call, several per message: plain slots (fast-metrics.ts).
  const serviceCalls = new FastHistogram(
    'bulwark_service_call_seconds',
    'Duration of core service calls',
    ['service', 'method', 'outcome'],
    [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registry,
  );
  // service → method → [ok, error] (each made on first use): found without a string per call.
  type SlotPair = [HistogramSlot | undefined, HistogramSlot | undefined];
  const callSlots = new Map<string, Map<string, SlotPair>>();
  return {
    registry,
    messagesIn: new FastCounter(
      'bulwark_messages_in_total',
      'Messages accepted, by protocol',
      ['protocol'],
      registry,
    ),
    messagesRefused: new FastCounter(
      'bulwark_messages_refused_total',
      'Messages refused, by protocol and reason',
      ['protocol', 'reason'],
      registry,
    ),
    authFailures: new Counter({
      name: 'bulwark_auth_failures_total',
      help: 'Failed client authentications, by protocol and reason (users and API keys over HTTP: password, totp, refresh_token, access_token, api_key, setup_token, throttled; device and app credentials at the edge, every transport: malformed, unknown, revoked, expired, superseded, decommissioned, wrong_organization, wrong_device, locked)',
      labelNames: ['protocol', 'reason'] as const,
      registers,
    }),
    anonymousFailures: new Counter({
      name: 'bulwark_http_anonymous_failures_total',
      help: 'Failed HTTP requests by anonymous callers (audited as a sample: one row per source per minute)',
      registers,
    }),
    denied: new Counter({
      name: 'bulwark_access_denied_total',
      help: 'Denied publishes and subscribes',
      labelNames: ['action'] as const,
      registers,
    }),
    storageWrite: new Histogram({
      name: 'bulwark_storage_write_seconds',
      help: 'Duration of message batch writes',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    storageBatchRows: new Histogram({
      name: 'bulwark_storage_batch_rows',
      help: 'Envelopes per message batch write',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    serviceCalls,
    gauge(name, help, labels, collect) {
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers,
        collect() {
          const v = collect();
          if (typeof v === 'number') this.set(v);
          else
            for (const [k, n] of Object.entries(v))
              this.set(labels.length > 0 ? { [labels[0]!]: k } : {}, n);
        },
      });
    },
    observeCalls: ({ service, method, ms, error }) => {
      // A call per message on the ingest path: the label set's slot is found once per
      // (service, method, outcome), and observing is a bucket search and three additions.
      let methods = callSlots.get(service);
      if (methods === undefined) {
        methods = new Map<string, SlotPair>();
        callSlots.set(service, methods);
      }
      let slots = methods.get(method);
      if (slots === undefined) {
        slots = [undefined, undefined];
        methods.set(method, slots);
      }
      const i = error === undefined ? 0 : 1;
      (slots[i] ??= serviceCalls.slot(service, method, i === 0 ? 'ok' : 'error')).observe(
        ms / 1000,
      );
    },
  };
}

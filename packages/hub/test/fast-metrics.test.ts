import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../src/fast-metrics.js';

describe('fast metrics', () => {
  it('expose exactly what prom-client would for the same observations', async () => {
    const fast = new Registry();
    const ref = new Registry();
    const fc = new FastCounter('m_total', 'messages', ['protocol'], fast);
    const rc = new Counter({
      name: 'm_total',
      help: 'messages',
      labelNames: ['protocol'],
      registers: [ref],
    });
    const buckets = [0.001, 0.01, 0.1];
    const fh = new FastHistogram('d_seconds', 'durations', ['service', 'outcome'], buckets, fast);
    const rh = new Histogram({
      name: 'd_seconds',
      help: 'durations',
      labelNames: ['service', 'outcome'],
      buckets,
      registers: [ref],
    });
    for (const p of ['mqtt', 'mqtt', 'http', 'coap', 'mqtt']) {
      fc.inc([p]);
      rc.inc({ protocol: p });
    }
    fc.inc(['http'], 5);
    rc.inc({ protocol: 'http' }, 5);
    for (const [s, o, v] of [
      ['messaging', 'ok', 0.0004],
      ['messaging', 'ok', 0.001], // on a bound: counted in that bucket (le)
      ['messaging', 'error', 0.05],
      ['devices', 'ok', 3],
    ] as const) {
      fh.slot(s, o).observe(v);
      rh.observe({ service: s, outcome: o }, v);
    }
    assert.equal(await fast.metrics(), await ref.metrics());
  });
});

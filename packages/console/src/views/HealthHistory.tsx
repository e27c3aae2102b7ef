/**
 * The device's health over the last hour, day or week (decision 0038, third amendment of
 * 2026-12-07): the hub's buckets (`GET /devices/:id/metrics/history`) as charts — the chart code
 * is its own lazy chunk — with the same numbers in a table for whoever does not read charts.
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Problem, useLoad } from '../ui.js';
import type { HealthChart as HealthChartView } from './HealthChart.js';

type History = Awaited<ReturnType<Session['client']['devices']['metricsHistory']>>;
export type HealthBucket = History['buckets'][number];

/** The ranges offered and the bucket each is drawn in (about 50–70 points each). */
const RANGES = {
  hour: { label: 'Last hour', ms: 3_600_000, bucket: '1m' },
  day: { label: 'Last day', ms: 86_400_000, bucket: '20m' },
  week: { label: 'Last week', ms: 7 * 86_400_000, bucket: '3h' },
} as const;
type Range = keyof typeof RANGES;

const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} %`);
const stamp = (iso: string) =>
  new Date(iso).toLocaleString([], {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });

export function HealthHistory({ session, id }: { session: Session; id: string }) {
  const [range, setRange] = useState<Range>('hour');
  const [Chart, setChart] = useState<FunctionComponent<
    Parameters<typeof HealthChartView>[0]
  > | null>(null);
  const history = useLoad(() => {
    const r = RANGES[range];
    const to = Date.now();
    return session.client.devices.metricsHistory(id, {
      from: new Date(to - r.ms).toISOString(),
      to: new Date(to).toISOString(),
      bucket: r.bucket,
    });
  }, [session, id, range]);
  useEffect(() => {
    let live = true;
    void import('./HealthChart.js').then((m) => live && setChart(() => m.HealthChart));
    return () => {
      live = false;
    };
  }, []);
  const h = history.data;
  const label = RANGES[range].label.toLowerCase();
  return (
    <div
      class="health-history"
      data-health-range={range}
      data-bucket-seconds={h?.bucketSeconds ?? ''}
    >
      <label class="filter">
        Health history
        <select value={range} onChange={(e) => setRange(e.currentTarget.value as Range)}>
          {(Object.keys(RANGES) as Range[]).map((k) => (
            <option key={k} value={k}>
              {RANGES[k].label}
            </option>
          ))}
        </select>
      </label>
      <Problem error={history.error} />
      {h === null ? null : h.buckets.length === 0 ? (
        <p class="empty">
          No health reports in the {label}: the agent sends them every minute while connected.
        </p>
      ) : (
        <>
          {Chart ? (
            <div class="health-charts">
              {(['cpu', 'memory', 'disk'] as const).map((s) => (
                <Chart
                  key={s}
                  series={s}
                  label={{ cpu: 'CPU', memory: 'Memory', disk: 'Disk' }[s]}
                  range={label}
                  from={Date.parse(h.from)}
                  to={Date.parse(h.to)}
                  buckets={h.buckets}
                />
              ))}
            </div>
          ) : (
            <p>Loading the charts…</p>
          )}
          <details>
            <summary>Health history as a table</summary>
            <table aria-label="Health history" data-buckets={h.buckets.length}>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">Reports</th>
                  <th scope="col">CPU avg (min–max)</th>
                  <th scope="col">Memory avg (min–max)</th>
                  <th scope="col">Disk avg (min–max)</th>
                  <th scope="col">Connections avg</th>
                </tr>
              </thead>
              <tbody>
                {h.buckets.map((b) => (
                  <tr key={b.start} data-start={b.start}>
                    <td>{stamp(b.start)}</td>
                    <td>{b.count}</td>
                    {(['cpu', 'memory', 'disk'] as const).map((s) => (
                      <td key={s} data-series={s}>
                        {pct(b[s].avg)} ({pct(b[s].min)}–{pct(b[s].max)})
                      </td>
                    ))}
                    <td>{b.connections.avg === null ? '—' : b.connections.avg.toFixed(0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </div>
  );
}

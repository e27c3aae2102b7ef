/**
 * One health series over a time window as SVG (its own lazy chunk; no chart library): the average
 * per bucket as a line with dots, the least-to-greatest range as a band, 0–100 % on the y axis.
 * An empty bucket breaks the line. The accessible name summarises the numbers; the table beside
 * it (HealthHistory) has them all.
 */
import type { HealthBucket } from './HealthHistory.js';

type Series = 'cpu' | 'memory' | 'disk';

const W = 560;
const H = 150;
const PAD = { l: 40, r: 10, t: 8, b: 22 };

const at = (t: number) =>
  new Date(t).toLocaleString([], {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
const p1 = (v: number) => `${v.toFixed(1)} %`;

export function HealthChart({
  series,
  label,
  range,
  from,
  to,
  buckets,
}: {
  series: Series;
  label: string;
  range: string;
  from: number;
  to: number;
  buckets: HealthBucket[];
}) {
  const pts = buckets.flatMap((b) => {
    const s = b[series];
    return s.avg === null
      ? []
      : [{ t: Date.parse(b.start), avg: s.avg, min: s.min ?? s.avg, max: s.max ?? s.avg }];
  });
  if (pts.length === 0)
    return (
      <p class="empty" data-series={series}>
        {label}: not reported in the {range}.
      </p>
    );
  const x = (t: number) => PAD.l + ((t - from) / Math.max(1, to - from)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - Math.min(100, Math.max(0, v)) / 100) * (H - PAD.t - PAD.b);
  // Runs of consecutive buckets (a missing bucket ends a run): one line and one band each.
  const step =
    buckets.length > 1 ? Date.parse(buckets[1]!.start) - Date.parse(buckets[0]!.start) : 0;
  const runs: (typeof pts)[] = [];
  for (const p of pts) {
    const run = runs[runs.length - 1];
    const prev = run?.[run.length - 1];
    if (run && prev && (step <= 0 || p.t - prev.t <= step * 1.01)) run.push(p);
    else runs.push([p]);
  }
  const line = runs
    .map((r) =>
      r.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.avg).toFixed(1)}`).join(''),
    )
    .join('');
  const band = runs
    .filter((r) => r.length > 1)
    .map(
      (r) =>
        r
          .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.max).toFixed(1)}`)
          .join('') +
        [...r]
          .reverse()
          .map((p) => `L${x(p.t).toFixed(1)},${y(p.min).toFixed(1)}`)
          .join('') +
        'Z',
    )
    .join('');
  const avg = pts.reduce((n, p) => n + p.avg, 0) / pts.length;
  const lo = Math.min(...pts.map((p) => p.min));
  const hi = Math.max(...pts.map((p) => p.max));
  const last = pts[pts.length - 1]!;
  return (
    <figure class="chart" data-series={series} data-points={pts.length}>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${label} over the ${range}: ${pts.length} points, average ${p1(avg)}, lowest ${p1(lo)}, highest ${p1(hi)}, latest ${p1(last.avg)}`}
      >
        <line class="axis" x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} />
        <line class="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} />
        <text x={PAD.l - 4} y={PAD.t + 8} text-anchor="end">
          100 %
        </text>
        <text x={PAD.l - 4} y={H - PAD.b} text-anchor="end">
          0 %
        </text>
        <text x={PAD.l} y={H - 6}>
          {at(from)}
        </text>
        <text x={W - PAD.r} y={H - 6} text-anchor="end">
          {at(to)}
        </text>
        {band && <path class="band" d={band} />}
        <path class="line" d={line} />
        {pts.map((p) => (
          <circle key={p.t} class="dot" cx={x(p.t)} cy={y(p.avg)} r={2} data-avg={p.avg} />
        ))}
      </svg>
      <figcaption>
        {label} (average per bucket; the band is the least to the greatest), latest {p1(last.avg)}
      </figcaption>
    </figure>
  );
}

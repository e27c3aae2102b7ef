/**
 * Hand-rolled SVG charts (no chart library: a few hundred bytes instead of tens of kilobytes).
 * Each chart has an accessible name and a text summary; values are also in the tables beside them.
 */

export interface Point {
  t: number;
  v: number | null;
}

const W = 560;
const H = 160;
const PAD = { l: 44, r: 10, t: 10, b: 22 };

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(3);
const hhmm = (t: number) =>
  new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** A line chart of values over time; a null value (an empty bucket) breaks the line. */
export function LineChart({
  label,
  points,
  unit,
}: {
  label: string;
  points: Point[];
  unit?: string;
}) {
  const vals = points.flatMap((p) => (p.v === null ? [] : [p.v]));
  if (points.length === 0 || vals.length === 0)
    return <p class="empty">No values in this range yet.</p>;
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const t0 = points[0]!.t;
  const t1 = points[points.length - 1]!.t === t0 ? t0 + 1 : points[points.length - 1]!.t;
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
    pen = true;
  }
  const last = vals[vals.length - 1]!;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${label}: ${vals.length} values from ${fmt(lo)} to ${fmt(hi)}${unit ?? ''}, last ${fmt(last)}${unit ?? ''}`}
      >
        <line class="axis" x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} />
        <line class="axis" x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} />
        <text x={PAD.l - 4} y={PAD.t + 8} text-anchor="end">
          {fmt(hi)}
        </text>
        <text x={PAD.l - 4} y={H - PAD.b} text-anchor="end">
          {fmt(lo)}
        </text>
        <text x={PAD.l} y={H - 6}>
          {hhmm(t0)}
        </text>
        <text x={W - PAD.r} y={H - 6} text-anchor="end">
          {hhmm(t1)}
        </text>
        <path class="line" d={d} />
        {points.map((p) =>
          p.v === null ? null : <circle key={p.t} class="dot" cx={x(p.t)} cy={y(p.v)} r={2.5} />,
        )}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** A horizontal bar per value (0–100 %), e.g. a device's CPU, memory and disk use. */
export function Bars({
  label,
  bars,
}: {
  label: string;
  bars: { name: string; percent: number }[];
}) {
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${bars.length * 26 + 6}`}
        role="img"
        aria-label={`${label}: ${bars.map((b) => `${b.name} ${b.percent.toFixed(0)} %`).join(', ')}`}
      >
        {bars.map((b, i) => {
          const w = Math.max(0, Math.min(100, b.percent)) * ((W - 150) / 100);
          return (
            <g key={b.name} transform={`translate(0 ${i * 26 + 4})`}>
              <text x={0} y={14}>
                {b.name}
              </text>
              <rect class="track" x={100} y={2} width={W - 150} height={16} />
              <rect
                class={b.percent >= 90 ? 'bar hot' : 'bar'}
                x={100}
                y={2}
                width={w}
                height={16}
              />
              <text x={W - 44} y={14}>
                {b.percent.toFixed(0)} %
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** Presence over time: green while online, grey while offline, from `since` to now. */
export function PresenceStrip({
  spans,
}: {
  spans: { from: number; to: number; online: boolean }[];
}) {
  if (spans.length === 0) return null;
  const t0 = spans[0]!.from;
  const t1 = Math.max(spans[spans.length - 1]!.to, t0 + 1);
  const x = (t: number) => ((t - t0) / (t1 - t0)) * W;
  const online = spans.filter((s) => s.online).reduce((n, s) => n + s.to - s.from, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} 34`}
        role="img"
        aria-label={`Presence since ${hhmm(t0)}: online ${((online / (t1 - t0)) * 100).toFixed(0)} % of the time`}
      >
        {spans.map((s) => (
          <rect
            key={s.from}
            class={s.online ? 'on' : 'off'}
            x={x(s.from)}
            y={2}
            width={Math.max(1, x(s.to) - x(s.from))}
            height={16}
          />
        ))}
        <text x={0} y={32}>
          {hhmm(t0)}
        </text>
        <text x={W} y={32} text-anchor="end">
          {hhmm(t1)}
        </text>
      </svg>
      <figcaption>Presence while this page is open</figcaption>
    </figure>
  );
}

/**
 * Telemetry: a channel's recent messages as a table, and one SenML record name charted over time,
 * aggregated into time buckets by the hub (`GET /channels/{id}/aggregate`: min, max, avg, count or
 * last per bucket) — the page draws what the hub computed, it aggregates nothing itself — and
 * who may publish or subscribe on the channel (`ChannelRights`).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { message } from '../errors.js';
import { LineChart } from './charts.js';
import { ChannelRights } from './ChannelRights.js';

type Api = Session['client'];
type Channel = Awaited<ReturnType<Api['channels']['list']>>['items'][number];
type Message = Awaited<ReturnType<Api['channels']['messages']>>['items'][number];
type Fn = 'avg' | 'min' | 'max' | 'count' | 'last';

const RANGES = [
  { label: 'last 15 minutes', ms: 15 * 60_000, bucket: '1m' },
  { label: 'last hour', ms: 3600_000, bucket: '5m' },
  { label: 'last 24 hours', ms: 86_400_000, bucket: '1h' },
  { label: 'last 7 days', ms: 7 * 86_400_000, bucket: '1d' },
] as const;

const senmlValue = (r: NonNullable<Message['senml']>[number]): string => {
  const x = r as { v?: number; vs?: string; vb?: boolean; vd?: string; u?: string };
  const v = x.v ?? x.vs ?? x.vb ?? x.vd;
  return `${v === undefined ? '—' : String(v)}${x.u ? ` ${x.u}` : ''}`;
};

export function Telemetry({ session }: { session: Session }) {
  const api = session.client;
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [channelId, setChannelId] = useState<string>('');
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [name, setName] = useState('');
  const [range, setRange] = useState(0);
  const [fn, setFn] = useState<Fn>('avg');
  const [buckets, setBuckets] = useState<
    { start: string; value: number | null; count: number }[] | null
  >(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api.channels
      .list({ limit: 100 })
      .then((p) => {
        setChannels(p.items);
        if (p.items[0]) setChannelId((c) => c || p.items[0]!.id);
      })
      .catch((err: unknown) => setError(message(err)));
  }, [api]);

  useEffect(() => {
    if (!channelId) return;
    let live = true;
    setMessages(null);
    api.channels
      .messages(channelId, { limit: 50 })
      .then((p) => live && setMessages(p.items))
      .catch((err: unknown) => live && setError(message(err)));
    return () => {
      live = false;
    };
  }, [api, channelId, tick]);

  // The SenML record names in the page of messages: what can be charted.
  const names = useMemo(() => {
    const s = new Set<string>();
    for (const m of messages ?? []) for (const r of m.senml ?? []) if (r.n) s.add(r.n);
    return [...s].sort();
  }, [messages]);
  useEffect(() => {
    if (names.length > 0 && !names.includes(name)) setName(names[0]!);
  }, [names]);

  useEffect(() => {
    if (!channelId || !name) return;
    let live = true;
    const r = RANGES[range]!;
    const to = new Date();
    const from = new Date(to.getTime() - r.ms);
    api.channels
      .aggregate(channelId, {
        name,
        from: from.toISOString(),
        to: to.toISOString(),
        bucket: r.bucket,
        fn,
      })
      .then((b) => live && setBuckets(b))
      .catch((err: unknown) => live && setError(message(err)));
    return () => {
      live = false;
    };
  }, [api, channelId, name, range, fn, tick]);

  const points = (buckets ?? []).map((b) => ({ t: Date.parse(b.start), v: b.value }));
  return (
    <section class="telemetry">
      <h1>Telemetry</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {channels !== null && channels.length === 0 ? (
        <p class="empty">
          No channels yet: create one and connect a device to it (API: POST /channels).
        </p>
      ) : (
        <div class="inline controls">
          <label>
            Channel
            <select value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
              {(channels ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Record
            <select value={name} onChange={(e) => setName(e.currentTarget.value)}>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label>
            Range
            <select value={String(range)} onChange={(e) => setRange(Number(e.currentTarget.value))}>
              {RANGES.map((r, i) => (
                <option key={r.label} value={String(i)}>
                  {r.label} (per {r.bucket})
                </option>
              ))}
            </select>
          </label>
          <label>
            Aggregate
            <select value={fn} onChange={(e) => setFn(e.currentTarget.value as Fn)}>
              {(['avg', 'min', 'max', 'count', 'last'] as const).map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </label>
          <button onClick={() => setTick((n) => n + 1)}>Refresh</button>
        </div>
      )}
      {channelId && <ChannelRights key={channelId} session={session} channelId={channelId} />}
      {name && buckets !== null && (
        <LineChart
          label={`${name}, ${fn} per ${RANGES[range]!.bucket}, ${RANGES[range]!.label}`}
          points={points}
        />
      )}
      {messages !== null && messages.length === 0 && (
        <p class="empty">No messages on this channel yet.</p>
      )}
      {messages !== null && messages.length > 0 && (
        <table aria-label="Messages">
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Publisher</th>
              <th scope="col">Subtopic</th>
              <th scope="col">Values</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>{new Date(m.receivedAt).toLocaleString()}</td>
                <td>
                  {m.publisher.type} {m.publisher.id.slice(0, 8)}…
                </td>
                <td>{m.subtopic || '—'}</td>
                <td class="mono">
                  {m.senml
                    ? m.senml.map((r) => `${r.n ?? ''}=${senmlValue(r)}`).join(', ')
                    : `${m.contentType}, ${Math.floor((m.payload.length * 3) / 4)} bytes`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * The fleet: one page of devices at a time (the API's cursor pagination), filtered by a name
 * substring, with each listed device's online state.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { message } from '../errors.js';
import { navigate } from '../router.js';
import { useLive } from '../live.js';

type Device = Awaited<ReturnType<Session['client']['devices']['list']>>['items'][number];
const PAGE = 25;

export function Fleet({ session }: { session: Session }) {
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState('');
  // The cursors of the pages before this one (Previous), and this page's cursor.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: Device[]; nextCursor: string | null } | null>(null);
  const [online, setOnline] = useState<Record<string, boolean>>({});
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  // Presence of the listed devices changes live; a reset of the stream reloads the page.
  useLive((e) => {
    if (e === null) setTick((n) => n + 1);
    else if (e.type === 'device.connected' || e.type === 'device.disconnected') {
      const up = e.type === 'device.connected';
      setOnline((o) => (e.deviceId in o ? { ...o, [e.deviceId]: up } : o));
    } else if (e.type === 'device.state_changed' || e.type === 'update_job.transition')
      setTick((n) => n + 1);
  });

  // The filter applies 250 ms after the last keystroke, from the first page.
  useEffect(() => {
    const t = setTimeout(() => {
      setFilter(q.trim());
      setCursors([undefined]);
    }, 250);
    return () => clearTimeout(t);
  }, [q]);

  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    let live = true;
    const api = session.client;
    setError(null);
    api.devices
      .list({ limit: PAGE, ...(filter ? { q: filter } : {}), ...(cursor ? { cursor } : {}) })
      .then(async (p) => {
        if (!live) return;
        setPage(p);
        // Presence per listed device (one page, at most PAGE calls in parallel).
        const states = await Promise.all(
          p.items.map((d) =>
            api.devices.presence(d.id).then(
              (s) => [d.id, s.online] as const,
              () => [d.id, false] as const,
            ),
          ),
        );
        if (live) setOnline(Object.fromEntries(states));
      })
      .catch((err: unknown) => live && setError(message(err)));
    return () => {
      live = false;
    };
  }, [session, filter, cursor, tick]);

  return (
    <section>
      <h1>Fleet</h1>
      <label class="filter">
        Filter by name
        <input
          type="search"
          value={q}
          placeholder="e.g. press"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page === null ? (
        <p>Loading…</p>
      ) : page.items.length === 0 ? (
        <p class="empty">No devices{filter ? ` match “${filter}”` : ' yet'}.</p>
      ) : (
        <table aria-label="Devices">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col">Firmware</th>
              <th scope="col">Online</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((d) => (
              <tr key={d.id} data-device-id={d.id}>
                <td>
                  <a
                    href={`/devices/${d.id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/devices/${d.id}`);
                    }}
                  >
                    {d.name}
                  </a>
                </td>
                <td>{d.type}</td>
                <td>{d.state}</td>
                <td>{d.firmwareVersion ?? '—'}</td>
                <td>
                  {d.id in online ? (
                    <span class={online[d.id] ? 'badge ok' : 'badge off'}>
                      {online[d.id] ? 'online' : 'offline'}
                    </span>
                  ) : (
                    '…'
                  )}
                </td>
                <td>{d.lastSeenAt ? new Date(d.lastSeenAt).toLocaleString() : 'never'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        <button disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}

/**
 * The organization's alerts, newest first, filtered by state, reloaded when the event stream says
 * an alert opened or moved (or after a stream reset). Acknowledge and Resolve are shown only to a
 * principal holding `devices:manage`; the API refuses the others anyway.
 */
import { useEffect, useState } from 'preact/hooks';
import { can, type Session } from '../session.js';
import { message } from '../errors.js';
import { useLive } from '../live.js';
import { AlertDetail } from './AlertDetail.js';

type Alert = Awaited<ReturnType<Session['client']['alerts']['list']>>['items'][number];
const STATES = ['active', 'open', 'acknowledged', 'resolved'] as const;

export function Alerts({ session }: { session: Session }) {
  const [state, setState] = useState<(typeof STATES)[number]>('active');
  const [items, setItems] = useState<Alert[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const manage = can(session, 'devices:manage');

  useEffect(() => {
    let live = true;
    session.client.alerts
      .list({ state, limit: 100 })
      .then((p) => live && setItems(p.items))
      .catch((err: unknown) => live && setError(message(err)));
    return () => {
      live = false;
    };
  }, [session, state, tick]);

  useLive((e) => {
    if (e === null || e.type.startsWith('alert.')) setTick((n) => n + 1);
  });

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(message(err));
    }
    setTick((n) => n + 1);
  };

  return (
    <section>
      <h1>Alerts</h1>
      <label class="filter">
        State
        <select
          value={state}
          onChange={(e) => setState(e.currentTarget.value as (typeof STATES)[number])}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        <p>Loading…</p>
      ) : items.length === 0 ? (
        <p class="empty">No {state} alerts.</p>
      ) : (
        <table aria-label="Alerts">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Title</th>
              <th scope="col">State</th>
              <th scope="col">Seen</th>
              <th scope="col">Last seen</th>
              <th scope="col">Details</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.flatMap((a) => [
              <tr key={a.id} data-alert-id={a.id}>
                <td>
                  <span class={`badge sev-${a.severity}`}>{a.severity}</span>
                </td>
                <td>{a.title}</td>
                <td class="state">{a.state}</td>
                <td>{a.occurrences}×</td>
                <td>{new Date(a.lastSeenAt).toLocaleString()}</td>
                <td>
                  <button
                    aria-expanded={open === a.id}
                    onClick={() => setOpen(open === a.id ? null : a.id)}
                  >
                    {open === a.id ? 'Hide' : 'Details'}
                  </button>
                </td>
                {manage && (
                  <td class="actions">
                    {a.state === 'open' && (
                      <button
                        onClick={() => void act(() => session.client.alerts.acknowledge(a.id))}
                      >
                        Acknowledge
                      </button>
                    )}
                    {a.state !== 'resolved' && (
                      <button onClick={() => void act(() => session.client.alerts.resolve(a.id))}>
                        Resolve
                      </button>
                    )}
                  </td>
                )}
              </tr>,
              open === a.id && (
                <tr key={`${a.id}-detail`}>
                  <td colSpan={manage ? 7 : 6}>
                    <AlertDetail session={session} id={a.id} />
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      )}
    </section>
  );
}

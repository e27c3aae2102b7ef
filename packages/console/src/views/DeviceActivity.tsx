/**
 * A device's events and logs on its page, live (decision 0038, third amendment of 2026-12-07): the
 * hub's event stream says when the device reported events or a log batch was stored, and the list
 * (the newest 20 events, 50 log records) loads again — at most once a second, so a chatty device
 * cannot turn the page into a request storm. Nothing polls.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveEvent } from '@bulwark/sdk/browser';
import type { Session } from '../session.js';
import { useLive } from '../live.js';
import { Problem, useLoad, when } from '../ui.js';

type Api = Session['client'];
type DevEvent = Awaited<ReturnType<Api['devices']['events']>>['items'][number];
type Log = Awaited<ReturnType<Api['devices']['logs']>>['items'][number];

/** The shortest time between two reloads a live event triggers. */
const RELOAD_GAP_MS = 1000;

/** Calls `reload` when the stream says `type` happened to `deviceId` (or was reset), throttled. */
function useLiveReload(deviceId: string, type: LiveEvent['type'], reload: () => void): void {
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  useLive((e) => {
    if (e !== null && (e.type !== type || e.deviceId !== deviceId)) return;
    if (timer.current) return; // a reload is already due
    const wait = Math.max(0, last.current + RELOAD_GAP_MS - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      reload();
    }, wait);
  });
}

export function DeviceEvents({ session, id }: { session: Session; id: string }) {
  const api = session.client;
  const list = useLoad(() => api.devices.events(id, { limit: 20 }), [api, id]);
  useLiveReload(id, 'device.events_reported', list.reload);
  const items: DevEvent[] = list.data?.items ?? [];
  return (
    <div class="panel">
      <h2>Events</h2>
      <Problem error={list.error} />
      {items.length === 0 ? (
        <p class="empty">The device has reported no events (new ones appear here as they come).</p>
      ) : (
        <table aria-label="Device events" aria-live="polite">
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Kind</th>
              <th scope="col">Severity</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-event-kind={e.kind}>
                <td>{when(e.at)}</td>
                <td>{e.kind}</td>
                <td>{e.severity}</td>
                <td class="mono">{JSON.stringify(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Logs({ session, id }: { session: Session; id: string }) {
  const api = session.client;
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState('');
  const list = useLoad(
    () => api.devices.logs(id, { limit: 50, ...(filter ? { grep: filter } : {}) }),
    [api, id, filter],
  );
  useLiveReload(id, 'device.logs_stored', list.reload);
  const items: Log[] = list.data?.items ?? [];
  return (
    <div class="panel">
      <h2>Logs</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(q.trim());
        }}
      >
        <label>
          Search logs
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <Problem error={list.error} />
      {items.length === 0 ? (
        <p class="empty">
          No log records{filter ? ` match “${filter}”` : ': the agent ships them (decision 0032)'}.
        </p>
      ) : (
        <table aria-label="Logs">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Level</th>
              <th scope="col">Source</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {items.map((l) => (
              <tr key={l.id}>
                <td>{when(l.ts)}</td>
                <td>{l.level}</td>
                <td>{l.source}</td>
                <td class="mono">{l.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

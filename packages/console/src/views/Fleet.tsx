/**
 * The fleet (issue 15 item 2; decision 0038 amendment "the fleet at 10,000 devices"): a
 * virtualised table — only the rows in view (and a few around them) are in the DOM — over the
 * hub's sorted, filtered list read by position. The scrollbar spans every matching device; rows
 * load in blocks as they scroll into view. Presence changes live from the event stream.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { FunctionComponent } from 'preact';
import type { Session } from '../session.js';
import { can, canSomewhere } from '../session.js';
import { navigate } from '../router.js';
import { useLive } from '../live.js';
import { Problem } from '../ui.js';
import { useFleetWindow, type FleetQuery, type FleetRow } from '../fleet-data.js';
import { FleetFilters } from './FleetFilters.js';
import { FleetViews } from './FleetViews.js';
import type { FleetBulk as FleetBulkView } from './FleetBulk.js';
import type { FleetRegister as FleetRegisterView } from './FleetRegister.js';

/**
 * The most devices "Select all matching" takes: their ids are read from the list 500 at a time and
 * the bulk panel sends them in chunks of the API's MAX_BULK_ACTION_DEVICES (500).
 */
const MAX_SELECT = 10_000;
/** The list API's largest page. */
const PAGE = 500;

/** Height of one row in px: styles.css sets `.fleet tbody tr` to the same. */
const ROW = 36;
/** Rows rendered above and below the visible ones, so a scroll shows no blank edge. */
const OVERSCAN = 8;

type SortKey = 'name' | 'type' | 'state' | 'firmwareVersion' | 'lastSeenAt';
const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'type', label: 'Type' },
  { key: 'state', label: 'State' },
  { key: 'firmwareVersion', label: 'Firmware' },
  { key: null, label: 'Online' },
  { key: 'lastSeenAt', label: 'Last seen' },
  { key: null, label: 'Tags' },
];

export function Fleet({ session }: { session: Session }) {
  const [filter, setFilter] = useState<Omit<FleetQuery, 'sort'>>({});
  // A saved view applied: the filters remount from its query.
  const [applied, setApplied] = useState<{ n: number; filter: Omit<FleetQuery, 'sort'> }>({
    n: 0,
    filter: {},
  });
  const [selected, setSelected] = useState<Map<string, string>>(new Map());
  const [Bulk, setBulk] = useState<FunctionComponent<Parameters<typeof FleetBulkView>[0]> | null>(
    null,
  );
  const mayAct =
    canSomewhere(session, 'devices:manage') || canSomewhere(session, 'firmware:update');
  // Registering is its own chunk, fetched when asked for.
  const [Register, setRegister] = useState<FunctionComponent<
    Parameters<typeof FleetRegisterView>[0]
  > | null>(null);
  const openRegister = () =>
    void import('./FleetRegister.js').then((m) => setRegister(() => m.FleetRegister));
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef<HTMLDivElement>(null);

  const query: FleetQuery = { ...filter, sort: sort.desc ? `-${sort.key}` : sort.key };
  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.floor((scrollTop + height) / ROW) + OVERSCAN;
  const w = useFleetWindow(session, query, first, last);
  const total = w.total;

  // A new query starts at the top, with nothing selected.
  const key = JSON.stringify(query);
  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
    setSelected(new Map());
  }, [key]);

  // The bulk actions are their own chunk, fetched once something is selected.
  useEffect(() => {
    if (selected.size === 0 || Bulk !== null) return;
    void import('./FleetBulk.js').then((m) => setBulk(() => m.FleetBulk));
  }, [selected.size > 0]);

  const toggle = (d: FleetRow) => {
    const next = new Map(selected);
    if (next.has(d.id)) next.delete(d.id);
    else next.set(d.id, d.name);
    setSelected(next);
  };
  // Every matching device's id, paged from the list by position (in the table's order).
  const [selecting, setSelecting] = useState<{ got: number; of: number } | null>(null);
  const [selectError, setSelectError] = useState<unknown>(null);
  const selectAll = async (of: number) => {
    const all = new Map<string, string>();
    setSelectError(null);
    setSelecting({ got: 0, of });
    try {
      for (let offset = 0; offset < Math.min(of, MAX_SELECT); offset += PAGE) {
        const page = await session.client.devices.list({ ...query, offset, limit: PAGE });
        for (const d of page.items) all.set(d.id, d.name);
        setSelecting({ got: all.size, of });
        if (page.items.length < PAGE) break;
      }
      setSelected(all);
    } catch (err) {
      setSelectError(err);
    } finally {
      setSelecting(null);
    }
  };

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setHeight(el.clientHeight || 600);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [(total ?? 0) > 0]);

  // Presence changes live; anything that may move rows between filters reloads what is in view.
  useLive((e) => {
    if (e === null) w.reload();
    else if (e.type === 'device.connected' || e.type === 'device.disconnected') {
      const up = e.type === 'device.connected';
      w.patch((r) => (r.id === e.deviceId && r.online !== up ? { ...r, online: up } : r));
    } else if (e.type === 'device.state_changed') w.reload();
  });

  const rows: { index: number; d: FleetRow | undefined }[] = [];
  const end = Math.min(total ?? 0, last + 1);
  for (let i = first; i < end; i++) rows.push({ index: i, d: w.row(i) });
  const filtered = Object.keys(filter).length > 0;

  return (
    <section class="fleet" data-fleet={w.ready ? 'ready' : 'loading'}>
      <h1>Fleet</h1>
      {can(session, 'devices:manage') && Register === null && (
        <p>
          <button onClick={openRegister}>Register a device</button>
        </p>
      )}
      {Register !== null && <Register session={session} onRegistered={() => w.reload()} />}
      <FleetViews
        session={session}
        current={query}
        onApply={(v) => {
          const { sort: s, ...f } = v.query;
          if (s !== undefined)
            setSort({ key: s.replace(/^-/, '') as SortKey, desc: s.startsWith('-') });
          setApplied({ n: applied.n + 1, filter: f });
        }}
      />
      <FleetFilters
        key={applied.n}
        session={session}
        initial={applied.filter}
        onChange={setFilter}
      />
      <Problem error={w.error} />
      <p class="count" aria-live="polite" data-total={w.ready ? total : undefined}>
        {total === null
          ? 'Loading…'
          : `${total.toLocaleString()} device${total === 1 ? '' : 's'}${filtered ? ' match' : ''}`}
        {mayAct && selected.size > 0 && ` · ${selected.size.toLocaleString()} selected`}
      </p>
      {mayAct && total !== null && total > 0 && (
        <p class="selection">
          {total <= MAX_SELECT ? (
            <button disabled={selecting !== null} onClick={() => void selectAll(total)}>
              Select all {total.toLocaleString()} matching
            </button>
          ) : (
            <span>Filter to at most {MAX_SELECT.toLocaleString()} devices to select them all.</span>
          )}
          {selecting !== null && (
            <span role="status">
              Reading ids: {selecting.got.toLocaleString()} of {selecting.of.toLocaleString()}…
            </span>
          )}
          {selected.size > 0 && (
            <button onClick={() => setSelected(new Map())}>Clear selection</button>
          )}
        </p>
      )}
      <Problem error={selectError} />
      {mayAct && selected.size > 0 && Bulk !== null && (
        <Bulk
          session={session}
          selected={selected}
          onDone={() => {
            setSelected(new Map());
            w.reload();
          }}
        />
      )}
      {total === 0 ? (
        <p class="empty">
          {filtered
            ? 'No devices match these filters: clear or widen them.'
            : 'No devices yet. Register one here, with `bulwark devices create` or the API.'}
        </p>
      ) : total !== null ? (
        <div
          class="fleet-scroll"
          ref={box}
          tabIndex={0}
          role="region"
          aria-label="Devices (scroll for more)"
          onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        >
          <table aria-label="Devices" aria-rowcount={total + 1}>
            <thead>
              <tr aria-rowindex={1}>
                {mayAct && (
                  <th scope="col" class="check">
                    Select
                  </th>
                )}
                {COLUMNS.map((c) => (
                  <th
                    key={c.label}
                    scope="col"
                    aria-sort={
                      c.key !== null && c.key === sort.key
                        ? sort.desc
                          ? 'descending'
                          : 'ascending'
                        : undefined
                    }
                  >
                    {c.key === null ? (
                      c.label
                    ) : (
                      <button
                        class="sort"
                        onClick={() =>
                          setSort({
                            key: c.key!,
                            desc: c.key === sort.key ? !sort.desc : false,
                          })
                        }
                      >
                        {c.label}
                        {c.key === sort.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
                      </button>
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {first > 0 && (
                <tr class="spacer" aria-hidden="true" style={{ height: `${first * ROW}px` }} />
              )}
              {rows.map(({ index, d }) =>
                d === undefined ? (
                  <tr key={`pending-${index}`} aria-rowindex={index + 2} class="pending">
                    <td colSpan={COLUMNS.length + (mayAct ? 1 : 0)}>…</td>
                  </tr>
                ) : (
                  <tr key={d.id} aria-rowindex={index + 2} data-device-id={d.id}>
                    {mayAct && (
                      <td class="check">
                        <input
                          type="checkbox"
                          aria-label={`Select ${d.name}`}
                          checked={selected.has(d.id)}
                          onChange={() => toggle(d)}
                        />
                      </td>
                    )}
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
                      <span class={d.online ? 'badge ok' : 'badge off'}>
                        {d.online ? 'online' : 'offline'}
                      </span>
                    </td>
                    <td>{d.lastSeenAt ? new Date(d.lastSeenAt).toLocaleString() : 'never'}</td>
                    <td class="tags">{d.tags.join(', ')}</td>
                  </tr>
                ),
              )}
              {end < total && (
                <tr
                  class="spacer"
                  aria-hidden="true"
                  style={{ height: `${(total - end) * ROW}px` }}
                />
              )}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

/**
 * The fleet's filters (issue 15 item 2): name, type, state, online, firmware version, tag and
 * location subtree. Text applies 200 ms after the last keystroke, choices at once; the hub does
 * the filtering.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { FleetQuery } from '../fleet-data.js';
import { useLoad } from '../ui.js';

type Location = Awaited<ReturnType<Session['client']['locations']['list']>>[number];
const STATES = ['provisioned', 'active', 'quarantined', 'decommissioned'] as const;

/** Locations in tree order (site → building → floor → room), each with its depth. */
export function treeOrder(all: Location[]): { l: Location; depth: number }[] {
  const out: { l: Location; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const l of all
      .filter((x) => x.parentId === parent)
      .sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ l, depth });
      if (depth < 8) walk(l.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** A location picker in tree order; `empty` names the choice of no location. */
export function LocationSelect({
  locations,
  value,
  onChange,
  empty,
}: {
  locations: Location[];
  value: string;
  onChange: (id: string) => void;
  empty: string;
}) {
  return (
    <label class="filter">
      Location
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{empty}</option>
        {treeOrder(locations).map(({ l, depth }) => (
          <option key={l.id} value={l.id}>
            {'\u00a0\u00a0'.repeat(depth)}
            {l.name} ({l.kind})
          </option>
        ))}
      </select>
    </label>
  );
}

/** The filter fields; `onChange` gets the filter part of the query (no sort). */
export function FleetFilters({
  session,
  initial = {},
  onChange,
}: {
  session: Session;
  /** The filters to start from (a saved view's); the parent remounts this to apply another. */
  initial?: Omit<FleetQuery, 'sort'>;
  onChange: (q: Omit<FleetQuery, 'sort'>) => void;
}) {
  const [text, setText] = useState({
    q: initial.q ?? '',
    type: initial.type ?? '',
    firmwareVersion: initial.firmwareVersion ?? '',
    tag: Array.isArray(initial.tag) ? initial.tag.join(' ') : (initial.tag ?? ''),
  });
  const [state, setState] = useState<string>(initial.state ?? '');
  const [online, setOnline] = useState(
    initial.online === undefined ? '' : initial.online ? 'online' : 'offline',
  );
  const [location, setLocation] = useState(initial.location ?? '');
  const locations = useLoad(() => session.client.locations.list(), [session]);

  useEffect(() => {
    const t = setTimeout(() => {
      const q: Omit<FleetQuery, 'sort'> = {};
      for (const k of ['q', 'type', 'firmwareVersion'] as const) {
        const v = text[k].trim();
        if (v !== '') q[k] = v;
      }
      // Tags: every one given must be on the device.
      const tags = text.tag.split(/[\s,]+/).filter((x) => x !== '');
      if (tags.length > 0) q.tag = tags.length === 1 ? tags[0]! : tags;
      if (state !== '') q.state = state as (typeof STATES)[number];
      if (online !== '') q.online = online === 'online';
      if (location !== '') q.location = location;
      onChange(q);
    }, 200);
    return () => clearTimeout(t);
  }, [text, state, online, location]);

  const field = (k: keyof typeof text, label: string, placeholder: string) => (
    <label class="filter">
      {label}
      <input
        type="search"
        value={text[k]}
        placeholder={placeholder}
        onInput={(e) => setText({ ...text, [k]: e.currentTarget.value })}
      />
    </label>
  );
  return (
    <div class="filters" role="search" aria-label="Filter devices">
      {field('q', 'Filter by name', 'e.g. press')}
      {field('type', 'Type', 'e.g. rpi4')}
      <label class="filter">
        State
        <select value={state} onChange={(e) => setState(e.currentTarget.value)}>
          <option value="">any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label class="filter">
        Online
        <select value={online} onChange={(e) => setOnline(e.currentTarget.value)}>
          <option value="">any</option>
          <option value="online">online</option>
          <option value="offline">offline</option>
        </select>
      </label>
      {field('firmwareVersion', 'Firmware version', 'e.g. 1.4.2')}
      {field('tag', 'Tags', 'e.g. line-a roof')}
      <LocationSelect
        locations={locations.data ?? []}
        value={location}
        onChange={setLocation}
        empty="anywhere"
      />
    </div>
  );
}

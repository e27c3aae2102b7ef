/**
 * Rollouts: the list; a creation form (target, phases with gates, concurrency, rate, window,
 * failure threshold) with a preview of the devices it matches (`POST /rollouts/preview`); a
 * rollout's detail with a progress bar per phase, pause, resume and cancel.
 *
 * Live, without polling: the detail re-reads its rollout when the event stream reports one of its
 * jobs or the rollout itself changing state (`update_job.transition` / `rollout.transition` with
 * its id), at most one read at a time, coalesced; the list re-reads on any rollout's transition.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveEvent } from '@bulwark/sdk/browser';
import { useLive } from '../live.js';
import { can, type Session } from '../session.js';
import { Bar, Empty, Problem, useAction, useLoad, when, words } from '../ui.js';

type Body = Parameters<Session['client']['rollouts']['create']>[0];
type Preview = Awaited<ReturnType<Session['client']['rollouts']['preview']>>;
type Rollout = Awaited<ReturnType<Session['client']['rollouts']['get']>>;
interface PhaseRow {
  name: string;
  by: 'percent' | 'count';
  value: string;
  gate: string;
}
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
/** True when `e` (null: the stream restarted) may have changed rollout `id` (any rollout: null). */
function touches(e: LiveEvent | null, id: string | null): boolean {
  if (e === null) return true;
  if (e.type !== 'rollout.transition' && e.type !== 'update_job.transition') return false;
  if (id === null) return e.type === 'rollout.transition';
  return e.rolloutId === id;
}

function Create({ session, onCreated }: { session: Session; onCreated: (id: string) => void }) {
  const artifacts = useLoad(() => session.client.firmware.list({ limit: 100 }), [session]);
  const locations = useLoad(() => session.client.locations.list(), [session]);
  const [name, setName] = useState('');
  const [artifactId, setArtifactId] = useState('');
  const [type, setType] = useState('');
  const [tags, setTags] = useState('');
  const [location, setLocation] = useState('');
  const [deviceIds, setDeviceIds] = useState('');
  const [phases, setPhases] = useState<PhaseRow[]>([
    { name: '', by: 'percent', value: '100', gate: '' },
  ]);
  const [maxConcurrent, setMax] = useState('10');
  const [rate, setRate] = useState('');
  const [failPct, setFailPct] = useState('20');
  const [failMin, setFailMin] = useState('5');
  const [useWindow, setUseWindow] = useState(false);
  const [win, setWin] = useState({
    start: '22:00',
    end: '04:00',
    timezone: 'UTC',
    days: [] as string[],
  });
  const [preview, setPreview] = useState<Preview | null>(null);
  const act = useAction();

  const body = (): Body => {
    const target: Body['target'] = {};
    if (type) target.type = type;
    if (words(tags).length) target.tags = words(tags);
    if (location) target.location = location;
    if (words(deviceIds).length) target.deviceIds = words(deviceIds);
    return {
      ...(name ? { name } : {}),
      artifactId,
      target,
      phases: phases.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        ...(p.by === 'percent' ? { percent: Number(p.value) } : { count: Number(p.value) }),
        ...(p.gate !== '' ? { successGate: Number(p.gate) } : {}),
      })),
      maxConcurrent: Number(maxConcurrent),
      ...(rate ? { ratePerMinute: Number(rate) } : {}),
      failureThreshold: { percent: Number(failPct), minDevices: Number(failMin) },
      ...(useWindow
        ? {
            window: {
              start: win.start,
              end: win.end,
              timezone: win.timezone,
              ...(win.days.length ? { days: win.days as (typeof DAYS)[number][] } : {}),
            },
          }
        : {}),
    };
  };
  const setPhase = (i: number, patch: Partial<PhaseRow>) =>
    setPhases(phases.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  // Any change makes the preview stale.
  useEffect(
    () => setPreview(null),
    [artifactId, type, tags, location, deviceIds, phases, useWindow, win],
  );

  const ready = (artifacts.data?.items ?? []).filter((a) => a.state === 'ready');
  return (
    <form
      class="panel"
      aria-label="New rollout"
      onSubmit={(e) => {
        e.preventDefault();
        void act.run(async () => {
          const r = await session.client.rollouts.create(body());
          onCreated(r.id);
        });
      }}
    >
      <h2>New rollout</h2>
      {artifacts.data !== null && ready.length === 0 && (
        <Empty>
          No ready artifact to roll out: upload a signed image on the Firmware page first.
        </Empty>
      )}
      <div class="grid2">
        <label>
          Name (optional)
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Artifact
          <select
            value={artifactId}
            required
            onChange={(e) => setArtifactId(e.currentTarget.value)}
          >
            <option value="">Choose…</option>
            {ready.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} {a.version} ({a.types.join(', ')})
              </option>
            ))}
          </select>
        </label>
      </div>
      <fieldset>
        <legend>Target: devices matching all of</legend>
        <div class="grid2">
          <label>
            Device type
            <input value={type} onInput={(e) => setType(e.currentTarget.value)} />
          </label>
          <label>
            Tags (comma-separated)
            <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </label>
          <label>
            Location (and below)
            <select value={location} onChange={(e) => setLocation(e.currentTarget.value)}>
              <option value="">Anywhere</option>
              {(locations.data ?? []).map((l) => (
                <option key={l.id} value={l.id}>
                  {l.kind}: {l.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Device ids (comma-separated)
            <input value={deviceIds} onInput={(e) => setDeviceIds(e.currentTarget.value)} />
          </label>
        </div>
      </fieldset>
      <fieldset>
        <legend>Phases (cumulative; the last is 100%)</legend>
        {phases.map((p, i) => (
          <div class="row" key={i}>
            <label>
              Phase {i + 1} name
              <input value={p.name} onInput={(e) => setPhase(i, { name: e.currentTarget.value })} />
            </label>
            <label>
              Phase {i + 1} size by
              <select
                value={p.by}
                onChange={(e) => setPhase(i, { by: e.currentTarget.value as PhaseRow['by'] })}
              >
                <option value="percent">percent</option>
                <option value="count">count</option>
              </select>
            </label>
            <label>
              Phase {i + 1} size
              <input
                type="number"
                min={1}
                required
                value={p.value}
                onInput={(e) => setPhase(i, { value: e.currentTarget.value })}
              />
            </label>
            <label>
              Phase {i + 1} success gate %
              <input
                type="number"
                min={0}
                max={100}
                value={p.gate}
                onInput={(e) => setPhase(i, { gate: e.currentTarget.value })}
              />
            </label>
            {phases.length > 1 && (
              <button type="button" onClick={() => setPhases(phases.filter((_, j) => j !== i))}>
                Remove phase {i + 1}
              </button>
            )}
          </div>
        ))}
        <button
          type="button"
          onClick={() =>
            setPhases([{ name: 'canary', by: 'count', value: '1', gate: '100' }, ...phases])
          }
        >
          Add a phase before
        </button>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <div class="grid2">
          <label>
            At most in flight
            <input
              type="number"
              min={1}
              max={10000}
              required
              value={maxConcurrent}
              onInput={(e) => setMax(e.currentTarget.value)}
            />
          </label>
          <label>
            Started per minute (optional)
            <input
              type="number"
              min={1}
              max={10000}
              value={rate}
              onInput={(e) => setRate(e.currentTarget.value)}
            />
          </label>
          <label>
            Pause at failure %
            <input
              type="number"
              min={1}
              max={100}
              required
              value={failPct}
              onInput={(e) => setFailPct(e.currentTarget.value)}
            />
          </label>
          <label>
            once this many finished
            <input
              type="number"
              min={1}
              required
              value={failMin}
              onInput={(e) => setFailMin(e.currentTarget.value)}
            />
          </label>
        </div>
        <label class="check">
          <input
            type="checkbox"
            checked={useWindow}
            onChange={(e) => setUseWindow(e.currentTarget.checked)}
          />
          Only start updates in a maintenance window
        </label>
        {useWindow && (
          <div class="grid2">
            <label>
              Window start (HH:MM)
              <input
                value={win.start}
                pattern="[0-2][0-9]:[0-5][0-9]"
                onInput={(e) => setWin({ ...win, start: e.currentTarget.value })}
              />
            </label>
            <label>
              Window end (HH:MM)
              <input
                value={win.end}
                pattern="[0-2][0-9]:[0-5][0-9]"
                onInput={(e) => setWin({ ...win, end: e.currentTarget.value })}
              />
            </label>
            <label>
              Time zone
              <input
                value={win.timezone}
                onInput={(e) => setWin({ ...win, timezone: e.currentTarget.value })}
              />
            </label>
            <fieldset class="days">
              <legend>Days (none: every day)</legend>
              {DAYS.map((d) => (
                <label class="check" key={d}>
                  <input
                    type="checkbox"
                    checked={win.days.includes(d)}
                    onChange={(e) =>
                      setWin({
                        ...win,
                        days: e.currentTarget.checked
                          ? [...win.days, d]
                          : win.days.filter((x) => x !== d),
                      })
                    }
                  />
                  {d}
                </label>
              ))}
            </fieldset>
          </div>
        )}
      </fieldset>
      <div class="buttons">
        <button
          type="button"
          disabled={act.busy || !artifactId}
          onClick={() =>
            void act.run(async () => setPreview(await session.client.rollouts.preview(body())))
          }
        >
          Preview devices
        </button>
        <button type="submit" disabled={act.busy || !artifactId}>
          Start rollout
        </button>
      </div>
      <Problem error={act.error} />
      {preview && <PreviewView p={preview} />}
    </form>
  );
}

function PreviewView({ p }: { p: Preview }) {
  return (
    <div class="preview" aria-label="Preview" role="region">
      <p>
        <strong>{p.total}</strong> matching devices: <strong>{p.toUpdate}</strong> to update,{' '}
        {p.current} already current. Phases end at{' '}
        {p.phases.map((ph) => `${ph.name ?? `phase ${ph.index + 1}`}: ${ph.limit}`).join(' → ')}.{' '}
        {p.windowOpen
          ? 'The window is open now.'
          : `The window is closed; it opens ${when(p.nextWindowAt)}.`}
      </p>
      {p.total === 0 ? (
        <Empty>
          No device matches this target: widen it (type, tags, location) or check that the artifact
          fits their type.
        </Empty>
      ) : (
        <table aria-label="Matching devices">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Type</th>
              <th scope="col">Firmware</th>
              <th scope="col">Update</th>
            </tr>
          </thead>
          <tbody>
            {p.devices.map((d) => (
              <tr key={d.id}>
                <td>{d.name}</td>
                <td>{d.type}</td>
                <td>{d.firmwareVersion ?? '—'}</td>
                <td>{d.current ? 'already current' : 'will update'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {p.truncated && (
        <p class="hint">
          Showing the first {p.devices.length} of {p.total}.
        </p>
      )}
    </div>
  );
}

function Detail({ session, id, onBack }: { session: Session; id: string; onBack: () => void }) {
  const manage = can(session, 'firmware:update');
  const [r, setR] = useState<Rollout | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  const load = useAction();
  const act = useAction();
  // One read at a time; events arriving meanwhile ask for one more read after it.
  const reading = useRef<'idle' | 'reading' | 'again'>('idle');
  const refresh = async () => {
    if (reading.current !== 'idle') {
      reading.current = 'again';
      return;
    }
    do {
      reading.current = 'reading';
      const next = await load.run(() => session.client.rollouts.get(id));
      if (next) {
        setR(next);
        setCheckedAt(new Date());
      }
    } while ((reading.current as string) === 'again');
    reading.current = 'idle';
  };
  useEffect(() => {
    void refresh();
  }, [id]);
  useLive((e) => {
    if (touches(e, id)) void refresh();
  });
  const running = r?.state === 'running' || (r?.progress?.inFlight ?? 0) > 0;

  const change = (fn: () => Promise<Rollout>) =>
    void act.run(async () => {
      setR(await fn());
      setCheckedAt(new Date());
    });
  const p = r?.progress;
  return (
    <div class="panel" aria-label="Rollout" role="region">
      <button type="button" onClick={onBack}>
        ← All rollouts
      </button>
      <Problem error={load.error ?? act.error} />
      {r === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <h2>{r.name}</h2>
          <p>
            State:{' '}
            <span class={`badge st-${r.state}`} data-state={r.state}>
              {r.state}
            </span>
            {r.pauseReason ? ` — ${r.pauseReason}` : ''} · at most {r.maxConcurrent} in flight
            {r.ratePerMinute ? `, ${r.ratePerMinute}/min` : ''} · pause at{' '}
            {r.failureThreshold.percent}% failed (after {r.failureThreshold.minDevices})
            {r.window ? ` · window ${r.window.start}–${r.window.end} ${r.window.timezone}` : ''}
          </p>
          {p && (
            <>
              <Bar
                label="Overall"
                value={p.succeeded + p.current}
                max={p.total}
                text={`${p.percentDone.toFixed(0)}% done (${p.succeeded + p.current} of ${p.total})`}
              />
              {p.phases.map((ph, i) => {
                // Limits are cumulative; a phase's own share is its limit less the one before.
                const size = ph.limit - (i > 0 ? p.phases[i - 1]!.limit : 0);
                return (
                  <Bar
                    key={ph.index}
                    label={`Phase ${ph.index + 1}${ph.name ? ` (${ph.name})` : ''}`}
                    value={ph.succeeded}
                    max={size}
                    text={`${ph.state}: ${ph.succeeded} succeeded, ${ph.failed} failed, ${ph.inFlight} in flight of ${size}`}
                  />
                );
              })}
              <p class="hint">
                {p.inFlight} in flight, {p.failed} failed, {p.canceled} canceled
                {p.nextEligibleAt ? ` · next start ${when(p.nextEligibleAt)}` : ''}
                {p.windowOpen ? '' : ' · window closed'}
              </p>
            </>
          )}
          <div class="buttons">
            <button type="button" onClick={() => void refresh()}>
              Refresh
            </button>
            {manage && r.state === 'running' && (
              <button
                type="button"
                onClick={() =>
                  change(() => session.client.rollouts.pause(id, 'paused in the console'))
                }
              >
                Pause
              </button>
            )}
            {manage && r.state === 'paused' && (
              <button
                type="button"
                onClick={() => change(() => session.client.rollouts.resume(id))}
              >
                Resume
              </button>
            )}
            {manage && (r.state === 'running' || r.state === 'paused') && (
              <button
                type="button"
                class="danger"
                onClick={() => {
                  if (
                    window.confirm(
                      `Cancel “${r.name}”? Jobs that have not started installing are canceled.`,
                    )
                  )
                    change(() => session.client.rollouts.cancel(id));
                }}
              >
                Cancel rollout
              </button>
            )}
          </div>
          <p class="hint" aria-live="polite">
            {running ? 'Live: updates as its jobs move' : 'Finished: nothing more will change'}
            {checkedAt ? ` · last read ${checkedAt.toLocaleTimeString()}` : ''}
          </p>
        </>
      )}
    </div>
  );
}

export function Rollouts({ session }: { session: Session }) {
  const manage = can(session, 'firmware:update');
  const [open, setOpen] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const list = useLoad(
    () => session.client.rollouts.list({ limit: 100 }),
    [session, open, creating],
  );
  useLive((e) => {
    if (open === null && touches(e, null)) list.reload();
  });
  if (open !== null)
    return (
      <section aria-labelledby="ro-h">
        <h1 id="ro-h">Rollouts</h1>
        <Detail session={session} id={open} onBack={() => setOpen(null)} />
      </section>
    );
  return (
    <section aria-labelledby="ro-h">
      <h1 id="ro-h">Rollouts</h1>
      {manage && !creating && (
        <button type="button" onClick={() => setCreating(true)}>
          New rollout
        </button>
      )}
      {creating && (
        <Create
          session={session}
          onCreated={(id) => {
            setCreating(false);
            setOpen(id);
          }}
        />
      )}
      <Problem error={list.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : list.data.items.length === 0 ? (
        <Empty>
          No rollouts yet.{' '}
          {manage
            ? 'Start one with “New rollout”: choose a ready artifact and a target.'
            : 'Someone with firmware:update can start one.'}
        </Empty>
      ) : (
        <table aria-label="Rollouts">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Target</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Open</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.id} data-rollout-id={r.id}>
                <td>{r.name}</td>
                <td>{r.state}</td>
                <td>
                  {Object.entries(r.target)
                    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
                    .join('; ')}
                </td>
                <td>{when(r.createdAt)}</td>
                <td>
                  <button type="button" onClick={() => setOpen(r.id)} aria-label={`Open ${r.name}`}>
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

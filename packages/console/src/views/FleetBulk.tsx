/**
 * Bulk actions on the fleet's selection (issue 15 item 2; its own lazy chunk): choose an action —
 * tags, location, quarantine, firmware update, a desired-twin patch or a command —
 * review it (how many devices, what changes), confirm, then read what happened to each device —
 * the hub applies or refuses every device on its own (`POST /devices/bulk/actions`). A selection
 * of more than 500 goes in chunks of 500, one after the other, with a progress bar; a chunk the
 * API refuses as a whole marks its devices refused and the next chunk is still sent; Cancel stops
 * before the next chunk.
 */
import { useRef, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { can, canSomewhere } from '../session.js';
import { message } from '../errors.js';
import { Bar, Problem, useAction, useLoad, words } from '../ui.js';

type Result = Awaited<ReturnType<Session['client']['devices']['bulkAction']>>;
type Action = Parameters<Session['client']['devices']['bulkAction']>[0]['action'];
type Kind = Action['kind'];

/** The most devices one request takes (the API's MAX_BULK_ACTION_DEVICES). */
export const CHUNK = 500;

/** The action on `ids` in chunks of ≤ CHUNK, in order; each chunk's outcome reported. */
export async function inChunks(
  send: (ids: string[]) => Promise<Result>,
  ids: readonly string[],
  onChunk: (sent: number, r: Result['results']) => void,
  cancelled: () => boolean,
): Promise<{ results: Result['results']; cancelled: boolean }> {
  const results: Result['results'] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    if (cancelled()) return { results, cancelled: true };
    const chunk = ids.slice(i, i + CHUNK);
    let r: Result['results'];
    try {
      r = (await send(chunk)).results;
    } catch (err) {
      // The whole chunk refused (e.g. 429, 403, a session ended): each of its devices is refused.
      const code = (err as { code?: string }).code ?? 'request_failed';
      r = chunk.map((deviceId) => ({ deviceId, ok: false, code, detail: message(err) }));
    }
    results.push(...r);
    onChunk(i + chunk.length, r);
  }
  return { results, cancelled: false };
}

const LABELS: Record<Kind, string> = {
  tag: 'Change tags',
  move: 'Move to a location',
  quarantine: 'Quarantine',
  release: 'Release from quarantine',
  update: 'Start a firmware update',
  twin: 'Change the desired twin',
  command: 'Send a command',
};

/** A JSON object typed in a field: its value, or why it is not one (shown beside the field). */
function jsonObject(
  text: string,
  what: string,
): { value?: Record<string, unknown>; error?: string } {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { error: `${what} must be a JSON object.` };
    return { value: v as Record<string, unknown> };
  } catch (err) {
    return { error: `${what} is not JSON: ${(err as Error).message}` };
  }
}

/** The command names the API takes (protocol's CommandName). */
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/** What the review says the action will do. */
function summary(a: Action): string {
  switch (a.kind) {
    case 'twin':
      return `Merge ${JSON.stringify(a.patch)} into the desired twin`;
    case 'command':
      return `Send “${a.name}”${a.params ? ` with ${JSON.stringify(a.params)}` : ''}`;
    default:
      return LABELS[a.kind];
  }
}

export function FleetBulk({
  session,
  selected,
  onDone,
}: {
  session: Session;
  /** The selected devices: id → name. */
  selected: Map<string, string>;
  onDone: () => void;
}) {
  // Tags and location decide which device groups a device is in: organization-wide only. The
  // rest may be held on a group (decision 0046); the hub refuses devices outside it one by one.
  const kinds = (Object.keys(LABELS) as Kind[]).filter((k) =>
    k === 'tag' || k === 'move'
      ? can(session, 'devices:manage')
      : canSomewhere(session, k === 'update' ? 'firmware:update' : 'devices:manage'),
  );
  const [kind, setKind] = useState<Kind>(kinds[0] ?? 'tag');
  const [add, setAdd] = useState('');
  const [remove, setRemove] = useState('');
  const [locationId, setLocationId] = useState('');
  const [artifactId, setArtifactId] = useState('');
  const [patch, setPatch] = useState('');
  const [command, setCommand] = useState('');
  const [params, setParams] = useState('');
  const [review, setReview] = useState<Action | null>(null);
  const [result, setResult] = useState<{
    results: Result['results'];
    cancelled: boolean;
  } | null>(null);
  const [progress, setProgress] = useState<{ sent: number; chunk: number } | null>(null);
  const cancel = useRef(false);
  const act = useAction();
  const locations = useLoad(
    () => (kind === 'move' ? session.client.locations.list() : Promise.resolve([])),
    [session, kind],
  );
  const artifacts = useLoad(
    () =>
      kind === 'update'
        ? session.client.firmware.list({ limit: 100 }).then((p) => p.items)
        : Promise.resolve([]),
    [session, kind],
  );
  if (kinds.length === 0) return null;

  const patchIn = jsonObject(patch, 'The patch');
  const paramsIn = jsonObject(params, 'The parameters');
  const commandError =
    command.trim() !== '' && !COMMAND_NAME.test(command.trim())
      ? 'A command name starts with a letter, then letters, digits, “.”, “_” or “-” (at most 64).'
      : undefined;
  const fieldError =
    kind === 'twin'
      ? patchIn.error
      : kind === 'command'
        ? (commandError ?? paramsIn.error)
        : undefined;

  const action = (): Action | null => {
    if (kind === 'tag') {
      const a = words(add);
      const r = words(remove);
      if (a.length === 0 && r.length === 0) return null;
      return { kind, ...(a.length ? { add: a } : {}), ...(r.length ? { remove: r } : {}) };
    }
    if (kind === 'move') return { kind, locationId: locationId === '' ? null : locationId };
    if (kind === 'update') return artifactId === '' ? null : { kind, artifactId };
    if (kind === 'twin') return patchIn.value ? { kind, patch: patchIn.value } : null;
    if (kind === 'command') {
      if (command.trim() === '' || commandError || paramsIn.error) return null;
      return {
        kind,
        name: command.trim(),
        ...(paramsIn.value ? { params: paramsIn.value } : {}),
      };
    }
    return { kind };
  };
  const n = selected.size;
  const chunks = Math.ceil(n / CHUNK);
  const applied = result?.results.filter((r) => r.ok).length ?? 0;
  const refused = (result?.results.length ?? 0) - applied;

  return (
    <div class="panel bulk" role="region" aria-label="Bulk action">
      <h2>
        Act on {n.toLocaleString()} selected device{n === 1 ? '' : 's'}
      </h2>
      {review === null && result === null && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setReview(action());
          }}
        >
          <label class="filter">
            Action
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {LABELS[k]}
                </option>
              ))}
            </select>
          </label>
          {kind === 'tag' && (
            <>
              <label class="filter">
                Add tags
                <input value={add} onInput={(e) => setAdd(e.currentTarget.value)} />
              </label>
              <label class="filter">
                Remove tags
                <input value={remove} onInput={(e) => setRemove(e.currentTarget.value)} />
              </label>
            </>
          )}
          {kind === 'move' && (
            <label class="filter">
              Location
              <select value={locationId} onChange={(e) => setLocationId(e.currentTarget.value)}>
                <option value="">none (unassigned)</option>
                {(locations.data ?? []).map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name} ({l.kind})
                  </option>
                ))}
              </select>
            </label>
          )}
          {kind === 'update' && (
            <label class="filter">
              Artifact
              <select value={artifactId} onChange={(e) => setArtifactId(e.currentTarget.value)}>
                <option value="">choose…</option>
                {(artifacts.data ?? []).map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name} {a.version}
                  </option>
                ))}
              </select>
            </label>
          )}
          {kind === 'twin' && (
            <label class="filter">
              Desired patch (JSON merge patch)
              <textarea
                rows={2}
                value={patch}
                placeholder='{"led": "on"}'
                aria-invalid={patchIn.error ? 'true' : 'false'}
                onInput={(e) => setPatch(e.currentTarget.value)}
              />
            </label>
          )}
          {kind === 'command' && (
            <>
              <label class="filter">
                Command
                <input
                  value={command}
                  placeholder="reboot"
                  aria-invalid={commandError ? 'true' : 'false'}
                  onInput={(e) => setCommand(e.currentTarget.value)}
                />
              </label>
              <label class="filter">
                Parameters (JSON, optional)
                <input
                  value={params}
                  placeholder='{"delay": 5}'
                  aria-invalid={paramsIn.error ? 'true' : 'false'}
                  onInput={(e) => setParams(e.currentTarget.value)}
                />
              </label>
            </>
          )}
          <button type="submit" disabled={action() === null}>
            Review
          </button>
          {fieldError && (
            <p class="error" role="alert">
              {fieldError}
            </p>
          )}
        </form>
      )}
      {review !== null && (
        <div role="alertdialog" aria-label="Confirm bulk action" class="confirm">
          <p>
            {summary(review)} on {n.toLocaleString()} device{n === 1 ? '' : 's'}? Each device is
            applied or refused on its own; refused devices stay as they are.
            {chunks > 1 && ` Sent in ${chunks} chunks of at most ${CHUNK}, one after the other.`}
          </p>
          <button
            disabled={act.busy}
            onClick={() =>
              void act.run(async () => {
                const action = review;
                cancel.current = false;
                setProgress({ sent: 0, chunk: 0 });
                const r = await inChunks(
                  (deviceIds) => session.client.devices.bulkAction({ deviceIds, action }),
                  [...selected.keys()],
                  (sent) => setProgress((p) => ({ sent, chunk: (p?.chunk ?? 0) + 1 })),
                  () => cancel.current,
                );
                setProgress(null);
                setReview(null);
                setResult(r);
              })
            }
          >
            Confirm
          </button>
          {progress === null ? (
            <button onClick={() => setReview(null)}>Cancel</button>
          ) : (
            <>
              <Bar
                label="Bulk action progress"
                value={progress.sent}
                max={n}
                text={`${progress.sent.toLocaleString()} of ${n.toLocaleString()} devices, chunk ${progress.chunk} of ${chunks}`}
              />
              <button onClick={() => (cancel.current = true)}>Cancel the remaining chunks</button>
            </>
          )}
        </div>
      )}
      <Problem error={act.error} />
      {result !== null && (
        <>
          <p role="status">
            {applied.toLocaleString()} done, {refused.toLocaleString()} refused
            {result.cancelled
              ? `; cancelled: ${(n - result.results.length).toLocaleString()} not sent.`
              : '.'}
          </p>
          <table aria-label="Bulk action results">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {[...result.results]
                .sort((a, b) => Number(a.ok) - Number(b.ok))
                .map((r) => (
                  <tr key={r.deviceId} data-result={r.ok ? 'ok' : 'refused'}>
                    <td>{selected.get(r.deviceId) ?? r.deviceId}</td>
                    <td>{r.ok ? 'done' : `refused: ${r.code ?? ''} — ${r.detail ?? ''}`}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <button onClick={onDone}>Done</button>
        </>
      )}
    </div>
  );
}

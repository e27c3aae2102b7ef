/**
 * Bulk actions on the fleet's selection (issue 15 item 2; its own lazy chunk): choose an action —
 * tags, location, quarantine, firmware update, a desired-twin patch or a command —
 * review it (how many devices, what changes), confirm, then read what happened to each device —
 * the hub applies or refuses every device on its own (`POST /devices/bulk/actions`).
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { can } from '../session.js';
import { Problem, useAction, useLoad, words } from '../ui.js';

type Result = Awaited<ReturnType<Session['client']['devices']['bulkAction']>>;
type Action = Parameters<Session['client']['devices']['bulkAction']>[0]['action'];
type Kind = Action['kind'];

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
  const kinds = (Object.keys(LABELS) as Kind[]).filter((k) =>
    can(session, k === 'update' ? 'firmware:update' : 'devices:manage'),
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
  const [result, setResult] = useState<Result | null>(null);
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

  return (
    <div class="panel bulk" role="region" aria-label="Bulk action">
      <h2>
        Act on {n} selected device{n === 1 ? '' : 's'}
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
            {summary(review)} on {n} device{n === 1 ? '' : 's'}? Each device is applied or refused
            on its own; refused devices stay as they are.
          </p>
          <button
            disabled={act.busy}
            onClick={() =>
              void act.run(async () => {
                const r = await session.client.devices.bulkAction({
                  deviceIds: [...selected.keys()],
                  action: review,
                });
                setReview(null);
                setResult(r);
              })
            }
          >
            Confirm
          </button>
          <button onClick={() => setReview(null)}>Cancel</button>
        </div>
      )}
      <Problem error={act.error} />
      {result !== null && (
        <>
          <p role="status">
            {result.applied} done, {result.refused} refused.
          </p>
          <table aria-label="Bulk action results">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {result.results.map((r) => (
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

/**
 * The organization's firmware signing root (decision 0007's trusted TUF root) on the firmware
 * page: what the hub trusts — version, expiry, the root and release keys and their thresholds —
 * and, with `firmware:update`, uploading the first root or its next version (signed by the
 * current root's keys: the hub checks, the page only reads the file).
 */
import { useState } from 'preact/hooks';
import { isCode } from '../errors.js';
import { can, type Session } from '../session.js';
import { Empty, Problem, useAction, useLoad, when } from '../ui.js';

type Root = Awaited<ReturnType<Session['client']['firmware']['root']>>;
interface RoleSpec {
  keyids?: unknown[];
  threshold?: unknown;
}

/** "2 of 3 keys" for a role of the root document (what the hub verified, read for display). */
function role(root: Root, name: string): string {
  const roles = (root.root.signed as { roles?: Record<string, RoleSpec> }).roles ?? {};
  const r = roles[name];
  if (!r || !Array.isArray(r.keyids)) return '—';
  return `${String(r.threshold)} of ${r.keyids.length} key${r.keyids.length === 1 ? '' : 's'}`;
}

function Facts({ root, me }: { root: Root; me: string }) {
  const expires = (root.root.signed as { expires?: unknown }).expires;
  return (
    <dl class="facts" aria-label="Signing root">
      <dt>Version</dt>
      <dd>{root.version}</dd>
      <dt>Root keys</dt>
      <dd>{role(root, 'root')}</dd>
      <dt>Release keys</dt>
      <dd>{role(root, 'targets')}</dd>
      <dt>Expires</dt>
      <dd>{typeof expires === 'string' ? when(expires) : '—'}</dd>
      <dt>Uploaded</dt>
      <dd>
        {when(root.updatedAt)} by {root.updatedBy === me ? 'you' : root.updatedBy}
      </dd>
    </dl>
  );
}

export function SigningRoot({ session }: { session: Session }) {
  const manage = can(session, 'firmware:update');
  const current = useLoad(() => session.client.firmware.root(), [session]);
  const [file, setFile] = useState<File | null>(null);
  const act = useAction();
  const missing = isCode(current.error, 'firmware_root_missing');

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    const done = await act.run(async () => {
      let doc: { signed: Record<string, unknown>; signatures: unknown[] };
      try {
        doc = JSON.parse(await file.text()) as typeof doc;
      } catch {
        throw new Error(
          'The root file is not JSON: choose the root.json that `bulwark keys` wrote.',
        );
      }
      return session.client.firmware.pushRoot(doc);
    });
    if (done) current.reload();
  };

  return (
    <div class="panel" role="region" aria-labelledby="root-h">
      <h2 id="root-h">Signing root</h2>
      <p class="hint">
        The hub accepts only images whose metadata the root’s release keys signed, and devices check
        the same root.
      </p>
      {missing ? (
        <Empty>
          No signing root yet: images cannot be uploaded until one is.{' '}
          {manage
            ? 'Upload the root.json that `bulwark keys` wrote.'
            : 'Someone with the firmware:update permission can upload it.'}
        </Empty>
      ) : (
        <Problem error={current.error} />
      )}
      {current.data && <Facts root={current.data} me={session.me.id} />}
      {manage && (
        <form class="inline" aria-label="Upload signing root" onSubmit={(e) => void submit(e)}>
          <label>
            Signing root (root.json)
            <input
              type="file"
              accept=".json,application/json"
              required
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
          </label>
          <button type="submit" disabled={act.busy || !file}>
            {current.data ? 'Rotate signing root' : 'Upload signing root'}
          </button>
        </form>
      )}
      {manage && current.data && (
        <p class="hint">
          A rotation is the next version, signed by the current root’s keys and the new ones.
        </p>
      )}
      <Problem error={act.error} />
    </div>
  );
}

/**
 * Firmware: upload signed release metadata and its image (with upload progress), see what the
 * hub verified; the artifacts and where each is in use (rollouts, auto-upgrade policies); the
 * auto-upgrade policy of each device type; the organization's signing root (SigningRoot.tsx).
 * Changing anything needs `firmware:update`.
 */
import { useState } from 'preact/hooks';
import { can, uploadingClient, type Session } from '../session.js';
import { Bar, Empty, Problem, bytes, useAction, useLoad, when } from '../ui.js';
import { SigningRoot } from './SigningRoot.js';

type Artifact = Awaited<ReturnType<Session['client']['firmware']['get']>>;

/** The metadata the hub checked against the organization's root, as the page shows it. */
function Verified({ a }: { a: Artifact }) {
  const signed = a.metadata.signed as { expires?: unknown };
  return (
    <dl class="facts" aria-label="Verified metadata">
      <dt>Name</dt>
      <dd>{a.name}</dd>
      <dt>Version</dt>
      <dd>{a.version}</dd>
      <dt>Device types</dt>
      <dd>{a.types.join(', ')}</dd>
      <dt>Hardware</dt>
      <dd>{a.hardware.length ? a.hardware.join(', ') : 'any'}</dd>
      <dt>Release counter</dt>
      <dd>{a.releaseCounter}</dd>
      <dt>Size</dt>
      <dd>{bytes(a.length)}</dd>
      <dt>SHA-256</dt>
      <dd class="mono">{a.sha256}</dd>
      <dt>Signatures</dt>
      <dd>{a.metadata.signatures.length} (verified by the hub against the root)</dd>
      <dt>Expires</dt>
      <dd>{typeof signed.expires === 'string' ? when(signed.expires) : '—'}</dd>
      <dt>State</dt>
      <dd class="state">{a.state}</dd>
    </dl>
  );
}

function Upload({ session, onDone }: { session: Session; onDone: () => void }) {
  const [meta, setMeta] = useState<File | null>(null);
  const [image, setImage] = useState<File | null>(null);
  const [sent, setSent] = useState<[number, number] | null>(null);
  const [artifact, setArtifact] = useState<Artifact | null>(null);
  const act = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!meta || !image) return;
    setArtifact(null);
    setSent(null);
    await act.run(async () => {
      let doc: { signed: Record<string, unknown>; signatures: unknown[] };
      try {
        doc = JSON.parse(await meta.text()) as typeof doc;
      } catch {
        throw new Error(
          'The metadata file is not JSON: choose the .json that `bulwark firmware sign` wrote.',
        );
      }
      // The hub verifies the signatures and answers the pending artifact…
      const pending = await session.client.firmware.create(doc);
      setArtifact(pending);
      // …then the image, whose length and digest must be the signed ones.
      const body = new Uint8Array(await image.arrayBuffer());
      setSent([0, body.length]);
      const ready = await uploadingClient((n, total) =>
        setSent([n, total || body.length]),
      ).firmware.uploadImage(pending.id, body);
      setArtifact(ready);
      onDone();
    });
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} aria-label="Upload firmware">
      <h2>Upload a signed image</h2>
      <p class="hint">
        Sign the image with <code>bulwark firmware sign</code>; choose the metadata it wrote and the
        image.
      </p>
      <label>
        Signed metadata (JSON)
        <input
          type="file"
          accept=".json,application/json"
          required
          onChange={(e) => setMeta(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <label>
        Image
        <input
          type="file"
          required
          onChange={(e) => setImage(e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <button type="submit" disabled={act.busy || !meta || !image}>
        Upload
      </button>
      {sent && (
        <Bar
          label="Upload progress"
          value={sent[0]}
          max={sent[1]}
          text={`${bytes(sent[0])} of ${bytes(sent[1])}`}
        />
      )}
      <Problem error={act.error} />
      {artifact && <Verified a={artifact} />}
    </form>
  );
}

function Policies({ session, artifacts }: { session: Session; artifacts: Artifact[] }) {
  const manage = can(session, 'firmware:update');
  const list = useLoad(() => session.client.firmware.policies.list(), [session]);
  const [type, setType] = useState('');
  const [artifactId, setArtifactId] = useState('');
  const [maxConcurrent, setMax] = useState('2');
  const act = useAction();
  const ready = artifacts.filter((a) => a.state === 'ready');
  const set = async (e: Event) => {
    e.preventDefault();
    await act.run(() =>
      session.client.firmware.policies.set(type, artifactId, {
        maxConcurrent: Number(maxConcurrent),
      }),
    );
    list.reload();
  };
  return (
    <div class="panel">
      <h2>Auto-upgrade policies</h2>
      <Problem error={list.error ?? act.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : list.data.items.length === 0 ? (
        <Empty>
          No auto-upgrade policy: mark an artifact current for a device type below, and devices of
          that type on older versions get it.
        </Empty>
      ) : (
        <table aria-label="Auto-upgrade policies">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">In flight</th>
              <th scope="col">Succeeded</th>
              <th scope="col">Failed</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((p) => (
              <tr key={p.type}>
                <td>{p.type}</td>
                <td>{p.version}</td>
                <td>
                  {p.state}
                  {p.pauseReason ? ` (${p.pauseReason})` : ''}
                </td>
                <td>{p.progress.inFlight}</td>
                <td>{p.progress.succeeded}</td>
                <td>{p.progress.failed}</td>
                {manage && (
                  <td class="actions">
                    {p.state === 'paused' && (
                      <button
                        onClick={() =>
                          void act
                            .run(() => session.client.firmware.policies.resume(p.type))
                            .then(list.reload)
                        }
                      >
                        Resume
                      </button>
                    )}
                    <button
                      onClick={() =>
                        void act
                          .run(() => session.client.firmware.policies.clear(p.type))
                          .then(list.reload)
                      }
                    >
                      Stop auto-upgrade of {p.type}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manage && (
        <form class="inline" onSubmit={(e) => void set(e)} aria-label="Set auto-upgrade policy">
          <label>
            Device type
            <input
              value={type}
              required
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
              onInput={(e) => setType(e.currentTarget.value)}
            />
          </label>
          <label>
            Current artifact
            <select
              value={artifactId}
              required
              onChange={(e) => setArtifactId(e.currentTarget.value)}
            >
              <option value="">Choose…</option>
              {ready.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} {a.version}
                </option>
              ))}
            </select>
          </label>
          <label>
            At most in flight
            <input
              type="number"
              min={1}
              max={10000}
              value={maxConcurrent}
              onInput={(e) => setMax(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={act.busy}>
            Set policy
          </button>
        </form>
      )}
    </div>
  );
}

export function Firmware({ session }: { session: Session }) {
  const manage = can(session, 'firmware:update');
  const artifacts = useLoad(() => session.client.firmware.list({ limit: 100 }), [session]);
  const rollouts = useLoad(() => session.client.rollouts.list({ limit: 100 }), [session]);
  const policies = useLoad(() => session.client.firmware.policies.list(), [session]);
  const items = artifacts.data?.items ?? [];
  const usedBy = (id: string): string[] => [
    ...(rollouts.data?.items ?? [])
      .filter((r) => r.artifactId === id)
      .map((r) => `rollout “${r.name}” (${r.state})`),
    ...(policies.data?.items ?? [])
      .filter((p) => p.artifactId === id)
      .map((p) => `auto-upgrade of ${p.type}`),
  ];
  return (
    <section aria-labelledby="fw-h">
      <h1 id="fw-h">Firmware</h1>
      <SigningRoot session={session} />
      {manage && <Upload session={session} onDone={artifacts.reload} />}
      <div class="panel">
        <h2>Artifacts</h2>
        <Problem error={artifacts.error} />
        {artifacts.data === null ? (
          <p>Loading…</p>
        ) : items.length === 0 ? (
          <Empty>
            No firmware yet.{' '}
            {manage
              ? 'Upload a signed image above.'
              : 'Someone with the firmware:update permission can upload one.'}
          </Empty>
        ) : (
          <table aria-label="Artifacts">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Types</th>
                <th scope="col">Size</th>
                <th scope="col">State</th>
                <th scope="col">In use by</th>
                <th scope="col">Uploaded</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => {
                const uses = usedBy(a.id);
                return (
                  <tr key={a.id} data-artifact-id={a.id}>
                    <td>{a.name}</td>
                    <td>{a.version}</td>
                    <td>{a.types.join(', ')}</td>
                    <td>{bytes(a.length)}</td>
                    <td>{a.state}</td>
                    <td>{uses.length ? uses.join('; ') : 'not in use'}</td>
                    <td>{when(a.createdAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
      <Policies session={session} artifacts={items} />
    </section>
  );
}

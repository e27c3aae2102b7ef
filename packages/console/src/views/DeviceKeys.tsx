/**
 * A device's keys (issue 15 item 3): the random secrets a constrained device without a
 * certificate authenticates with, stored hashed by the hub. Listed with their state; a new key
 * is shown once in the page (never stored readable); revoking one cuts the device's sessions that
 * used it. Creating and revoking need `devices:manage`.
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Problem, useAction, useLoad, when } from '../ui.js';

export function DeviceKeys({
  session,
  id,
  manage,
}: {
  session: Session;
  id: string;
  manage: boolean;
}) {
  const api = session.client;
  const keys = useLoad(() => api.devices.keys(id), [api, id]);
  const [secret, setSecret] = useState<string | null>(null);
  const act = useAction();
  const items = keys.data ?? null;
  return (
    <div class="panel">
      <h2>Device keys</h2>
      {manage && (
        <button
          disabled={act.busy}
          onClick={() =>
            void act.run(async () => {
              setSecret((await api.devices.createKey(id)).key);
              keys.reload();
            })
          }
        >
          Create key
        </button>
      )}
      {secret && (
        <div class="once" role="status">
          <p>The key, shown this once (the hub keeps only its hash; copy it now):</p>
          <textarea readOnly rows={2} aria-label="New device key" value={secret} />
          <button onClick={() => setSecret(null)}>Done</button>
        </div>
      )}
      <Problem error={act.error ?? keys.error} />
      {items === null ? null : items.length === 0 ? (
        <p class="empty">
          No device key: the device uses a certificate
          {manage ? ', or create a key for a constrained device.' : '.'}
        </p>
      ) : (
        <table aria-label="Device keys">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td class="mono">{k.id}</td>
                <td>{when(k.createdAt)}</td>
                <td>{k.revokedAt ? `revoked ${when(k.revokedAt)}` : 'live'}</td>
                {manage && (
                  <td>
                    {!k.revokedAt && (
                      <button
                        aria-label={`Revoke key ${k.id}`}
                        onClick={() => {
                          if (!window.confirm('Revoke this key? The device can no longer use it.'))
                            return;
                          void act.run(async () => {
                            await api.devices.revokeKey(id, k.id);
                            keys.reload();
                          });
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

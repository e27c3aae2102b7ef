/**
 * A channel's rights (issue 15 item 4; decision 0038 amendment "channel rights"): which devices and
 * API keys may publish or subscribe on it (`GET /channels/{id}/connections`, `devices:read`), and —
 * only for a principal holding `devices:manage`, the permission the API requires — grant
 * (`POST …/connections`, which also changes an existing client's rights) and revoke
 * (`DELETE …/connections/{type}/{id}`). The API refuses a grant or revoke without it all the same.
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { can } from '../session.js';
import { Empty, Problem, useAction, useLoad, when } from '../ui.js';

type ClientType = 'device' | 'api_key';
const TYPE_LABEL: Record<ClientType, string> = { device: 'Device', api_key: 'API key' };
/** An id as the API takes it (protocol's Id: a UUID). */
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const rights = (c: { publish: boolean; subscribe: boolean }): string =>
  [c.publish ? 'publish' : '', c.subscribe ? 'subscribe' : ''].filter(Boolean).join(', ') || 'none';

export function ChannelRights({ session, channelId }: { session: Session; channelId: string }) {
  const api = session.client;
  const manage = can(session, 'devices:manage');
  const list = useLoad(() => api.channels.connections(channelId), [api, channelId]);
  const [clientType, setClientType] = useState<ClientType>('device');
  const [clientId, setClientId] = useState('');
  const [publish, setPublish] = useState(true);
  const [subscribe, setSubscribe] = useState(false);
  const [done, setDone] = useState('');
  const act = useAction();
  const id = clientId.trim();
  const idError = id !== '' && !ID.test(id) ? 'An id is a UUID (as the API lists it).' : undefined;

  const grant = () =>
    void act.run(async () => {
      const c = await api.channels.connect(channelId, {
        clientType,
        clientId: id,
        publish,
        subscribe,
      });
      setDone(`${TYPE_LABEL[c.clientType]} ${c.clientId} may now: ${rights(c)}.`);
      setClientId('');
      list.reload();
    });
  const revoke = (t: ClientType, cid: string) =>
    void act.run(async () => {
      await api.channels.disconnect(channelId, t, cid);
      setDone(`${TYPE_LABEL[t]} ${cid} has no rights on this channel any more.`);
      list.reload();
    });

  return (
    <section class="panel rights" aria-labelledby="rights-title">
      <h2 id="rights-title">Channel rights</h2>
      <Problem error={list.error} />
      {list.data !== null && list.data.length === 0 && (
        <Empty>
          No device or API key may publish or subscribe here yet
          {manage ? ': grant one below.' : '; an administrator can grant rights.'}
        </Empty>
      )}
      {list.data !== null && list.data.length > 0 && (
        <table aria-label="Channel rights">
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Publish</th>
              <th scope="col">Subscribe</th>
              <th scope="col">Since</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.map((c) => (
              <tr key={`${c.clientType}/${c.clientId}`} data-client-id={c.clientId}>
                <td>{TYPE_LABEL[c.clientType]}</td>
                <td>{c.clientName ?? '(removed)'}</td>
                <td class="mono">{c.clientId}</td>
                <td>{c.publish ? 'yes' : 'no'}</td>
                <td>{c.subscribe ? 'yes' : 'no'}</td>
                <td>{when(c.createdAt)}</td>
                {manage && (
                  <td>
                    <button
                      disabled={act.busy}
                      aria-label={`Revoke ${TYPE_LABEL[c.clientType]} ${c.clientName ?? c.clientId}`}
                      onClick={() => revoke(c.clientType, c.clientId)}
                    >
                      Revoke
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manage && (
        <form
          class="inline"
          aria-label="Grant rights"
          onSubmit={(e) => {
            e.preventDefault();
            grant();
          }}
        >
          <label class="filter">
            Client type
            <select
              value={clientType}
              onChange={(e) => setClientType(e.currentTarget.value as ClientType)}
            >
              <option value="device">Device</option>
              <option value="api_key">API key</option>
            </select>
          </label>
          <label class="filter">
            Client id
            <input
              value={clientId}
              placeholder="UUID"
              aria-invalid={idError ? 'true' : 'false'}
              onInput={(e) => setClientId(e.currentTarget.value)}
            />
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={publish}
              onChange={(e) => setPublish(e.currentTarget.checked)}
            />
            Publish
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={subscribe}
              onChange={(e) => setSubscribe(e.currentTarget.checked)}
            />
            Subscribe
          </label>
          <button type="submit" disabled={act.busy || id === '' || idError !== undefined}>
            Grant
          </button>
          {idError && (
            <p class="error" role="alert">
              {idError}
            </p>
          )}
        </form>
      )}
      <Problem error={act.error} />
      {done && act.error === null && <p role="status">{done}</p>}
    </section>
  );
}

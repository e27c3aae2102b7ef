/**
 * Administration: users with their roles and grants, API keys (the secret shown once),
 * organizations, and the location tree (site → building → floor → room: create, rename, move).
 *
 * The page never offers more than the signed-in principal holds: a role is offered only when its
 * preset (the protocol's ROLE_PRESETS, the hub's own table) is within one's own permissions, and only one's own permissions are offered as grants or
 * API-key permissions. The API refuses the rest anyway (`forbidden`).
 */
import { useState } from 'preact/hooks';
import type { PERMISSIONS } from '@bulwark/sdk/browser';
import { LOCATION_KINDS, ROLE_PRESETS, ROLES } from '@bulwark/sdk/browser';
import { can, type Session } from '../session.js';
import { Empty, Problem, Tabs, useAction, useLoad, when, Wide } from '../ui.js';
import { PermissionChecks } from './PermissionChecks.js';
import { mayScope, ScopeList, ScopedGrantForm } from './ScopedGrants.js';

type Role = (typeof ROLES)[number];
type Permission = (typeof PERMISSIONS)[number];
type Location = Awaited<ReturnType<Session['client']['locations']['list']>>[number];

const PRESET = ROLE_PRESETS;

const mine = (s: Session): Permission[] => s.me.permissions as Permission[];
/** Roles one may hand out: never owner (ownership is transferred), else within one's own. */
const offerableRoles = (s: Session): Role[] =>
  ROLES.filter((r) => r !== 'owner' && PRESET[r].every((p) => mine(s).includes(p)));

function Users({ session }: { session: Session }) {
  const list = useLoad(() => session.client.users.list(), [session]);
  const tree = useLoad(() => session.client.locations.list(), [session]);
  const names = new Map((tree.data ?? []).map((l) => [l.id, l.name]));
  const act = useAction();
  const roles = offerableRoles(session);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>(
    roles.includes('viewer') ? 'viewer' : (roles[0] ?? 'viewer'),
  );
  const [grants, setGrants] = useState<Permission[]>([]);
  const grantable = mine(session).filter((p) => !PRESET[role].includes(p));
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-users">
      <Problem error={list.error ?? act.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : (
        <Wide label="Users (scrolls sideways)">
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Grants</th>
                <th scope="col">Device groups</th>
                <th scope="col">TOTP</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((u) => {
                const self = u.id === session.me.id;
                const changeable = !self && u.role !== 'owner' && roles.includes(u.role);
                return (
                  <tr key={u.id} data-user-id={u.id}>
                    <td>{u.name}</td>
                    <td>{u.email}</td>
                    <td>
                      {changeable ? (
                        <select
                          aria-label={`Role of ${u.email}`}
                          value={u.role}
                          onChange={(e) =>
                            void act
                              .run(() =>
                                session.client.users.update(u.id, {
                                  role: e.currentTarget.value as Role,
                                }),
                              )
                              .then(list.reload)
                          }
                        >
                          {roles.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        u.role
                      )}
                    </td>
                    <td>{u.grants.length ? u.grants.join(', ') : '—'}</td>
                    <td>
                      <ScopeList
                        user={u}
                        names={names}
                        onRemove={
                          tree.data !== null && mayScope(session, tree.data, u)
                            ? (g) =>
                                void act
                                  .run(() => session.client.users.removeScopedGrant(u.id, g.id))
                                  .then(list.reload)
                            : undefined
                        }
                      />
                    </td>
                    <td>{u.totpEnabled ? 'on' : 'off'}</td>
                    <td>
                      {changeable && (
                        <button
                          type="button"
                          class="danger"
                          aria-label={`Remove ${u.email}`}
                          onClick={() => {
                            if (window.confirm(`Remove ${u.email}? Their sessions end.`))
                              void act
                                .run(() => session.client.users.remove(u.id))
                                .then(list.reload);
                          }}
                        >
                          Remove
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Wide>
      )}
      {list.data !== null && tree.data !== null && (
        <ScopedGrantForm
          session={session}
          members={list.data.filter((u) => mayScope(session, tree.data!, u))}
          tree={tree.data}
          onDone={list.reload}
        />
      )}
      <form
        aria-label="Add user"
        onSubmit={(e) => {
          e.preventDefault();
          void act
            .run(async () => {
              await session.client.users.create({
                email,
                name,
                password,
                role,
                ...(grants.length ? { grants } : {}),
              });
              setEmail('');
              setName('');
              setPassword('');
              setGrants([]);
            })
            .then(list.reload);
        }}
      >
        <h2>Add a user</h2>
        <div class="grid2">
          <label>
            Email
            <input
              type="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          <label>
            Name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Initial password
            <input
              type="password"
              required
              minLength={12}
              autoComplete="new-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          <label>
            Role
            <select
              value={role}
              onChange={(e) => {
                setRole(e.currentTarget.value as Role);
                setGrants([]);
              }}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        </div>
        <PermissionChecks
          legend="Extra grants (only ones you hold)"
          offered={grantable}
          chosen={grants}
          onChange={setGrants}
        />
        <button type="submit" disabled={act.busy}>
          Add user
        </button>
      </form>
    </div>
  );
}

function ApiKeys({ session }: { session: Session }) {
  const list = useLoad(() => session.client.apiKeys.list(), [session]);
  const act = useAction();
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<Permission[]>(['devices:read']);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-keys">
      <Problem error={list.error ?? act.error} />
      {secret && (
        <div class="secret" role="status">
          <p>
            The secret of “{secret.name}” — copy it now: <strong>it is shown only once</strong>.
          </p>
          <input
            aria-label="New API key secret"
            readOnly
            value={secret.key}
            onFocus={(e) => e.currentTarget.select()}
          />
          <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.key)}>
            Copy
          </button>
          <button type="button" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      )}
      {list.data === null ? (
        <p>Loading…</p>
      ) : list.data.length === 0 ? (
        <Empty>
          No API keys: create one below for a script or an integration, with only the permissions it
          needs.
        </Empty>
      ) : (
        <Wide label="API keys (scrolls sideways)">
          <table aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Permissions</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{k.permissions.join(', ')}</td>
                  <td>{when(k.lastUsedAt)}</td>
                  <td>{k.revokedAt ? `revoked ${when(k.revokedAt)}` : 'active'}</td>
                  <td>
                    {!k.revokedAt && (
                      <button
                        type="button"
                        class="danger"
                        onClick={() =>
                          void act.run(() => session.client.apiKeys.revoke(k.id)).then(list.reload)
                        }
                      >
                        Revoke {k.name}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Wide>
      )}
      <form
        aria-label="Create API key"
        onSubmit={(e) => {
          e.preventDefault();
          void act
            .run(async () => {
              const created = await session.client.apiKeys.create({ name, permissions: perms });
              setSecret({ name: created.apiKey.name, key: created.key });
              setName('');
            })
            .then(list.reload);
        }}
      >
        <h2>Create an API key</h2>
        <label>
          Key name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <PermissionChecks
          legend="Permissions (only ones you hold)"
          offered={mine(session)}
          chosen={perms}
          onChange={setPerms}
        />
        <button type="submit" disabled={act.busy || perms.length === 0}>
          Create key
        </button>
      </form>
    </div>
  );
}

function Organizations({ session }: { session: Session }) {
  const list = useLoad(() => session.client.orgs.list(), [session]);
  const act = useAction();
  const [name, setName] = useState('');
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-orgs">
      <Problem error={list.error ?? act.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : (
        <ul aria-label="Your organizations">
          {list.data.map((o) => (
            <li key={o.id}>
              {o.name}
              {o.id === session.me.organization.id ? ' (signed in here)' : ''} · created{' '}
              {when(o.createdAt)}
            </li>
          ))}
        </ul>
      )}
      {session.me.kind === 'user' && (
        <form
          class="inline"
          aria-label="Create organization"
          onSubmit={(e) => {
            e.preventDefault();
            void act
              .run(async () => {
                await session.client.orgs.create({ name });
                setName('');
              })
              .then(list.reload);
          }}
        >
          <label>
            Organization name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={act.busy}>
            Create organization
          </button>
        </form>
      )}
    </div>
  );
}

function LocationNode({
  session,
  loc,
  all,
  onChange,
}: {
  session: Session;
  loc: Location;
  all: Location[];
  onChange: () => void;
}) {
  const manage = can(session, 'devices:manage');
  const act = useAction();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(loc.name);
  const children = all.filter((l) => l.parentId === loc.id);
  // A location cannot move under itself or its own subtree.
  const below = new Set<string>([loc.id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const l of all)
      if (l.parentId !== null && below.has(l.parentId) && !below.has(l.id)) {
        below.add(l.id);
        grew = true;
      }
  }
  return (
    <li data-location-id={loc.id}>
      <span class="loc">
        <span class="kind">{loc.kind}</span> {loc.name}
      </span>
      {manage && !editing && (
        <button
          type="button"
          class="small"
          onClick={() => setEditing(true)}
          aria-label={`Edit ${loc.name}`}
        >
          Edit
        </button>
      )}
      {editing && (
        <form
          class="inline"
          aria-label={`Edit ${loc.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            void act.run(async () => {
              await session.client.locations.update(loc.id, { name });
              setEditing(false);
              onChange();
            });
          }}
        >
          <label>
            New name of {loc.name}
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit">Rename</button>
          <label>
            Move {loc.name} under
            <select
              value={loc.parentId ?? ''}
              onChange={(e) => {
                const parentId = e.currentTarget.value || null;
                void act.run(async () => {
                  await session.client.locations.update(loc.id, { parentId });
                  setEditing(false);
                  onChange();
                });
              }}
            >
              <option value="">(top level)</option>
              {all
                .filter((l) => !below.has(l.id))
                .map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.kind}: {l.name}
                  </option>
                ))}
            </select>
          </label>
          <button type="button" onClick={() => setEditing(false)}>
            Close
          </button>
          <Problem error={act.error} />
        </form>
      )}
      {children.length > 0 && (
        <ul>
          {children.map((c) => (
            <LocationNode key={c.id} session={session} loc={c} all={all} onChange={onChange} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Locations({ session }: { session: Session }) {
  const list = useLoad(() => session.client.locations.list(), [session]);
  const manage = can(session, 'devices:manage');
  const act = useAction();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof LOCATION_KINDS)[number]>('site');
  const [parentId, setParentId] = useState('');
  const all = list.data ?? [];
  const roots = all.filter((l) => l.parentId === null || !all.some((p) => p.id === l.parentId));
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-locations">
      <Problem error={list.error ?? act.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : all.length === 0 ? (
        <Empty>
          No locations yet.{' '}
          {manage ? 'Add a site below, then its buildings, floors and rooms.' : ''}
        </Empty>
      ) : (
        <ul class="tree" aria-label="Locations">
          {roots.map((l) => (
            <LocationNode key={l.id} session={session} loc={l} all={all} onChange={list.reload} />
          ))}
        </ul>
      )}
      {manage && (
        <form
          class="inline"
          aria-label="Add location"
          onSubmit={(e) => {
            e.preventDefault();
            void act
              .run(async () => {
                await session.client.locations.create({
                  name,
                  kind,
                  ...(parentId ? { parentId } : {}),
                });
                setName('');
              })
              .then(list.reload);
          }}
        >
          <label>
            Location name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
              {LOCATION_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <label>
            Inside
            <select value={parentId} onChange={(e) => setParentId(e.currentTarget.value)}>
              <option value="">(top level)</option>
              {all.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.kind}: {l.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={act.busy}>
            Add location
          </button>
        </form>
      )}
    </div>
  );
}

type Tab = 'users' | 'keys' | 'orgs' | 'locations';

export function Admin({ session }: { session: Session }) {
  const tabs = (
    [
      ['users', 'Users', can(session, 'users:manage')],
      ['keys', 'API keys', can(session, 'api-keys:manage')],
      ['orgs', 'Organizations', true],
      ['locations', 'Locations', true],
    ] as const
  )
    .filter(([, , ok]) => ok)
    .map(([k, name]) => [k, name] as const);
  const [tab, setTab] = useState<Tab>(tabs[0]![0]);
  return (
    <section aria-labelledby="adm-h">
      <h1 id="adm-h">Administration</h1>
      <Tabs label="Administration" tabs={tabs} current={tab} onChange={setTab} />
      {tab === 'users' && <Users session={session} />}
      {tab === 'keys' && <ApiKeys session={session} />}
      {tab === 'orgs' && <Organizations session={session} />}
      {tab === 'locations' && <Locations session={session} />}
    </section>
  );
}

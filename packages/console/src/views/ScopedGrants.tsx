/**
 * Members' scoped grants (decision 0046) on the Admin page: each listed as its permissions on a
 * location (by name, its subtree) and/or a tag, given with "Add a device-group permission" and
 * taken back with a confirmation.
 *
 * The page offers only what the hub's grant policy allows (`checkScopedGrant`, by the protocol's
 * own `permissionsAt`): a member one may manage (not oneself, not an owner, nothing held beyond
 * one's own permissions, org-wide or on each of their groups), and on the chosen group only the
 * scopable permissions one holds there. The hub decides again; its refusals show as problems.
 */
import { useState } from 'preact/hooks';
import type { PERMISSIONS } from '@bulwark/sdk/browser';
import {
  locationChainIn,
  permissionsAt,
  ROLE_PRESETS,
  SCOPABLE_PERMISSIONS,
} from '@bulwark/sdk/browser';
import { can, canSomewhere, type Session } from '../session.js';
import { Problem, useAction } from '../ui.js';
import { LocationSelect } from './FleetFilters.js';
import { PermissionChecks } from './PermissionChecks.js';

type User = Awaited<ReturnType<Session['client']['users']['list']>>[number];
type Grant = User['scopedGrants'][number];
type Location = Awaited<ReturnType<Session['client']['locations']['list']>>[number];
type Permission = (typeof PERMISSIONS)[number];
type Scope = { locationId: string | null; tag: string | null };

/** The scopable permissions the signed-in principal holds on every device of `scope`. */
export function grantableOn(
  session: Session,
  tree: readonly Location[],
  scope: Scope,
): Permission[] {
  const place = {
    locations: locationChainIn(tree, scope.locationId),
    tags: scope.tag === null ? [] : [scope.tag],
  };
  const held = permissionsAt(session.me, place);
  return SCOPABLE_PERMISSIONS.filter((p) => held.includes(p));
}

/**
 * Whether the signed-in principal may give `u` scoped grants and take theirs back: the hub's
 * rules 1 and 2 (decision 0013) on the member and on each group they already hold.
 */
export function mayScope(session: Session, tree: readonly Location[], u: User): boolean {
  const mine = session.me.permissions as readonly string[];
  return (
    can(session, 'users:manage') &&
    u.id !== session.me.id &&
    u.role !== 'owner' &&
    [...ROLE_PRESETS[u.role], ...u.grants].every((p) => mine.includes(p)) &&
    u.scopedGrants.every((g) =>
      g.permissions.every((p) => (grantableOn(session, tree, g) as string[]).includes(p)),
    )
  );
}

/** One grant in words: "devices:manage on building-3 (and below) with tag roof". */
export function describeGrant(g: Grant, names: ReadonlyMap<string, string>): string {
  const where = [
    g.locationId !== null ? `${names.get(g.locationId) ?? g.locationId} (and below)` : null,
    g.tag !== null ? `tag ${g.tag}` : null,
  ].filter((x) => x !== null);
  return `${g.permissions.join(', ')} on ${where.join(' with ')}`;
}

/** The scoped grants of one member, one line each (with "Take back" when `onRemove`), or a dash. */
export function ScopeList({
  user,
  names,
  onRemove,
}: {
  user: User;
  names: ReadonlyMap<string, string>;
  onRemove?: ((g: Grant) => void) | undefined;
}) {
  if (user.scopedGrants.length === 0) return <>—</>;
  return (
    <ul class="scoped-grants">
      {user.scopedGrants.map((g) => (
        <li key={g.id} data-grant-id={g.id}>
          {describeGrant(g, names)}
          {onRemove && (
            <>
              {' '}
              <button
                type="button"
                class="small danger"
                aria-label={`Take back ${describeGrant(g, names)} from ${user.email}`}
                onClick={() => {
                  if (window.confirm(`Take back ${describeGrant(g, names)} from ${user.email}?`))
                    onRemove(g);
                }}
              >
                Take back
              </button>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

/** "Add a device-group permission" for one of `members` (those one may scope), or nothing. */
export function ScopedGrantForm({
  session,
  members,
  tree,
  onDone,
}: {
  session: Session;
  members: readonly User[];
  tree: readonly Location[];
  onDone: () => void;
}) {
  const act = useAction();
  const [userId, setUserId] = useState('');
  const [locationId, setLocationId] = useState('');
  const [tag, setTag] = useState('');
  const [chosen, setChosen] = useState<Permission[]>([]);
  const scope: Scope = { locationId: locationId || null, tag: tag.trim() || null };
  const offered = grantableOn(session, tree, scope);
  const picked = chosen.filter((p) => offered.includes(p));
  const member = members.find((m) => m.id === userId) ?? members[0];
  // Nobody to give to, or nothing one could give on any group: the form is not offered.
  if (member === undefined || !SCOPABLE_PERMISSIONS.some((p) => canSomewhere(session, p)))
    return null;
  return (
    <form
      class="scope-add"
      aria-labelledby="scope-add-h"
      onSubmit={(e) => {
        e.preventDefault();
        void act.run(async () => {
          await session.client.users.addScopedGrant(member.id, {
            permissions: picked,
            ...(scope.locationId !== null ? { locationId: scope.locationId } : {}),
            ...(scope.tag !== null ? { tag: scope.tag } : {}),
          });
          setChosen([]);
          onDone();
        });
      }}
    >
      <h2 id="scope-add-h">Add a device-group permission</h2>
      <p class="hint">
        Extra permissions on the devices in a location (and below it) and/or carrying a tag; only
        those you hold on that group are offered.
      </p>
      <div class="grid2">
        <label>
          Member
          <select value={member.id} onChange={(e) => setUserId(e.currentTarget.value)}>
            {members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.email} ({m.role})
              </option>
            ))}
          </select>
        </label>
        <LocationSelect
          locations={tree as Location[]}
          value={locationId}
          onChange={setLocationId}
          empty="any location"
        />
        <label>
          Tag
          <input
            value={tag}
            placeholder="e.g. roof"
            onInput={(e) => setTag(e.currentTarget.value)}
          />
        </label>
      </div>
      <PermissionChecks
        legend="Permissions on that group (only ones you hold there)"
        none="You hold no device permission on that group."
        offered={offered}
        chosen={picked}
        onChange={setChosen}
      />
      {scope.locationId === null && scope.tag === null && (
        <p class="hint">Choose a location, a tag or both (org-wide permissions are grants).</p>
      )}
      <button
        type="submit"
        disabled={
          act.busy || picked.length === 0 || (scope.locationId === null && scope.tag === null)
        }
      >
        Give permission
      </button>
      <Problem error={act.error} />
    </form>
  );
}

/**
 * A member's scoped grants (decision 0046) in the Admin users table: each as its permissions on a
 * location (by name, its subtree) and/or a tag. Given and taken back with the API or
 * `bulwark user grant|ungrant`; the hub checks every device action against them.
 */
import type { Session } from '../session.js';

type User = Awaited<ReturnType<Session['client']['users']['list']>>[number];

/** The scoped grants of one member, one line each, or a dash. */
export function ScopeList({
  grants,
  names,
}: {
  grants: User['scopedGrants'];
  names: ReadonlyMap<string, string>;
}) {
  if (grants.length === 0) return <>—</>;
  return (
    <ul class="scoped-grants">
      {grants.map((g) => (
        <li key={g.id} data-grant-id={g.id}>
          {g.permissions.join(', ')} on{' '}
          {[
            g.locationId !== null ? `${names.get(g.locationId) ?? g.locationId} (and below)` : null,
            g.tag !== null ? `tag ${g.tag}` : null,
          ]
            .filter((x) => x !== null)
            .join(' with ')}
        </li>
      ))}
    </ul>
  );
}

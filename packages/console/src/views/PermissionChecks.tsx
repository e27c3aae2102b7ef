/** Checkboxes for a set of permissions (the Admin page's grants, API keys and device groups). */
import type { PERMISSIONS } from '@bulwark/sdk/browser';

type Permission = (typeof PERMISSIONS)[number];

export function PermissionChecks({
  legend,
  offered,
  chosen,
  onChange,
  none = 'Nothing to add beyond the role.',
}: {
  legend: string;
  /** What the set says when nothing is offered. */
  none?: string;
  offered: readonly Permission[];
  chosen: readonly string[];
  onChange: (next: Permission[]) => void;
}) {
  return (
    <fieldset class="perms">
      <legend>{legend}</legend>
      {offered.length === 0 && <span class="hint">{none}</span>}
      {offered.map((p) => (
        <label class="check" key={p}>
          <input
            type="checkbox"
            name="permission"
            value={p}
            checked={chosen.includes(p)}
            onChange={(e) =>
              onChange(
                e.currentTarget.checked
                  ? [...(chosen as Permission[]), p]
                  : (chosen as Permission[]).filter((x) => x !== p),
              )
            }
          />
          {p}
        </label>
      ))}
    </fieldset>
  );
}

/**
 * Saved fleet views (issue 15 item 2): the signed-in user's named filters, kept by the hub
 * (`/views`). Choosing one applies its filters and sort; the current ones can be saved by name
 * (the same name replaces); the chosen one can be deleted.
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import type { FleetQuery } from '../fleet-data.js';
import { Problem, useAction, useLoad } from '../ui.js';

type SavedView = Awaited<ReturnType<Session['client']['views']['list']>>[number];

export function FleetViews({
  session,
  current,
  onApply,
}: {
  session: Session;
  current: FleetQuery;
  onApply: (view: SavedView) => void;
}) {
  const views = useLoad(() => session.client.views.list(), [session]);
  const [chosen, setChosen] = useState('');
  const [name, setName] = useState('');
  const act = useAction();
  const list = views.data ?? [];
  return (
    <div class="views" role="group" aria-label="Saved views">
      <label class="filter">
        Saved view
        <select
          value={chosen}
          onChange={(e) => {
            const id = e.currentTarget.value;
            setChosen(id);
            const v = list.find((x) => x.id === id);
            if (v) onApply(v);
          }}
        >
          <option value="">{list.length === 0 ? 'none saved yet' : 'choose…'}</option>
          {list.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </select>
      </label>
      {chosen !== '' && (
        <button
          disabled={act.busy}
          onClick={() =>
            void act.run(async () => {
              await session.client.views.delete(chosen);
              setChosen('');
              views.reload();
            })
          }
        >
          Delete view
        </button>
      )}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            const v = await session.client.views.save({ name: name.trim(), query: current });
            setName('');
            setChosen(v.id);
            views.reload();
          });
        }}
      >
        <label class="filter">
          Save these filters as
          <input
            value={name}
            maxLength={64}
            placeholder="e.g. offline pumps"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy || name.trim() === ''}>
          Save view
        </button>
      </form>
      <Problem error={act.error ?? views.error} />
    </div>
  );
}

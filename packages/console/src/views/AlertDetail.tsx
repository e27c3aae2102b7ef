/** One alert's evidence and comments, with a comment box for who may manage alerts. */
import { useState } from 'preact/hooks';
import { can, type Session } from '../session.js';
import { Problem, useAction, useLoad, when } from '../ui.js';

function Evidence({ value }: { value: Record<string, unknown> }) {
  const entries = Object.entries(value);
  if (entries.length === 0) return <p class="hint">No evidence recorded.</p>;
  return (
    <dl class="facts" aria-label="Evidence">
      {entries.map(([k, v]) => (
        <>
          <dt key={`${k}-k`}>{k}</dt>
          <dd key={`${k}-v`} class="mono">
            {typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
              ? String(v)
              : JSON.stringify(v)}
          </dd>
        </>
      ))}
    </dl>
  );
}

export function AlertDetail({ session, id }: { session: Session; id: string }) {
  const detail = useLoad(() => session.client.alerts.get(id), [session, id]);
  const act = useAction();
  const [body, setBody] = useState('');
  const a = detail.data;
  return (
    <div class="detail" role="region" aria-label="Alert details">
      <Problem error={detail.error ?? act.error} />
      {a === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <p>
            {a.kind} · opened {when(a.openedAt)}
            {a.acknowledgedAt
              ? ` · acknowledged ${when(a.acknowledgedAt)} by ${a.acknowledgedBy ?? '?'}`
              : ''}
            {a.resolvedAt ? ` · resolved ${when(a.resolvedAt)}` : ''}
            {a.deviceId ? ` · device ${a.deviceId}` : ''}
          </p>
          <h3>Evidence</h3>
          <Evidence value={a.evidence} />
          <h3>Comments</h3>
          {a.comments.length === 0 ? (
            <p class="hint">No comments yet.</p>
          ) : (
            <ul class="comments">
              {a.comments.map((c) => (
                <li key={c.id}>
                  <strong>{c.author}</strong> · {when(c.at)}: {c.body}
                </li>
              ))}
            </ul>
          )}
          {can(session, 'devices:manage') && (
            <form
              class="inline"
              aria-label="Comment"
              onSubmit={(e) => {
                e.preventDefault();
                void act
                  .run(async () => {
                    await session.client.alerts.comment(id, body);
                    setBody('');
                  })
                  .then(detail.reload);
              }}
            >
              <label>
                Add a comment
                <input
                  required
                  maxLength={4000}
                  value={body}
                  onInput={(e) => setBody(e.currentTarget.value)}
                />
              </label>
              <button type="submit" disabled={act.busy}>
                Comment
              </button>
            </form>
          )}
        </>
      )}
    </div>
  );
}

/**
 * Security: fleet audit findings (run the checks), detection rules (enable, tune), notification
 * endpoints and routing rules (with a "Send test" button: the hub's test endpoint, audited), and
 * the audit log with the hash chain's verification. Each part shows only to a principal who may
 * read it, and each action only to one who may take it; the API checks again.
 */
import { useState } from 'preact/hooks';
import { can, type Session } from '../session.js';
import { Empty, Problem, Tabs, useAction, useLoad, when } from '../ui.js';

type Rule = Awaited<ReturnType<Session['client']['detect']['rules']>>[number];
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;

function Findings({ session }: { session: Session }) {
  const list = useLoad(() => session.client.checks.list({ limit: 100 }), [session]);
  const act = useAction();
  const manage = can(session, 'checks:manage');
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-findings">
      {manage && (
        <button
          type="button"
          disabled={act.busy}
          onClick={() => void act.run(() => session.client.checks.run()).then(list.reload)}
        >
          Run checks now
        </button>
      )}
      <Problem error={list.error ?? act.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : list.data.items.length === 0 ? (
        <Empty>
          No findings: the fleet passes every audit check.{' '}
          {manage ? 'Run the checks again after changes.' : ''}
        </Empty>
      ) : (
        <table aria-label="Findings">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Check</th>
              <th scope="col">Finding</th>
              <th scope="col">State</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((f) => (
              <tr key={f.id}>
                <td>
                  <span class={`badge sev-${f.severity}`}>{f.severity}</span>
                </td>
                <td>{f.checkId}</td>
                <td>{f.message}</td>
                <td>
                  {f.state}
                  {f.suppressed ? ' (suppressed)' : ''}
                </td>
                <td>{when(f.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function RuleRow({
  session,
  rule,
  onChange,
}: {
  session: Session;
  rule: Rule;
  onChange: () => void;
}) {
  const manage = can(session, 'detect:manage');
  const [threshold, setThreshold] = useState(
    rule.settings.threshold === null ? '' : String(rule.settings.threshold),
  );
  const [windowSeconds, setWindow] = useState(String(rule.settings.windowSeconds));
  const act = useAction();
  const update = (body: Parameters<Session['client']['detect']['updateRule']>[1]) =>
    void act.run(() => session.client.detect.updateRule(rule.id, body)).then(onChange);
  return (
    <tr data-rule-id={rule.id}>
      <td>
        <strong>{rule.id}</strong>
        <div class="hint">{rule.description}</div>
        <Problem error={act.error} />
      </td>
      <td>{rule.kind}</td>
      <td>{rule.settings.enabled ? 'enabled' : 'disabled'}</td>
      <td>
        {manage && rule.settings.threshold !== null ? (
          <input
            aria-label={`Threshold of ${rule.id}`}
            type="number"
            min={1}
            value={threshold}
            onInput={(e) => setThreshold(e.currentTarget.value)}
          />
        ) : (
          (rule.settings.threshold ?? '—')
        )}
      </td>
      <td>
        {manage ? (
          <input
            aria-label={`Window (s) of ${rule.id}`}
            type="number"
            min={10}
            max={900}
            step={10}
            value={windowSeconds}
            onInput={(e) => setWindow(e.currentTarget.value)}
          />
        ) : (
          `${rule.settings.windowSeconds} s`
        )}
      </td>
      {manage && (
        <td class="actions">
          <button
            type="button"
            onClick={() =>
              update({
                windowSeconds: Number(windowSeconds),
                ...(rule.settings.threshold !== null && threshold !== ''
                  ? { threshold: Number(threshold) }
                  : {}),
              })
            }
          >
            Save {rule.id}
          </button>
          <button type="button" onClick={() => update({ enabled: !rule.settings.enabled })}>
            {rule.settings.enabled ? 'Disable' : 'Enable'} {rule.id}
          </button>
        </td>
      )}
    </tr>
  );
}

function Detection({ session }: { session: Session }) {
  const list = useLoad(() => session.client.detect.rules(), [session]);
  const manage = can(session, 'detect:manage');
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-detection">
      <Problem error={list.error} />
      {list.data === null ? (
        <p>Loading…</p>
      ) : (
        <table aria-label="Detection rules">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Threshold</th>
              <th scope="col">Window</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.map((r) => (
              <RuleRow
                key={`${r.id}:${r.updatedAt ?? ''}`}
                session={session}
                rule={r}
                onChange={list.reload}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Notifications({ session }: { session: Session }) {
  const endpoints = useLoad(() => session.client.notifications.endpoints.list(), [session]);
  const rules = useLoad(() => session.client.notifications.rules.list(), [session]);
  const act = useAction();
  const [sent, setSent] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [ruleName, setRuleName] = useState('');
  const [ruleEndpoint, setRuleEndpoint] = useState('');
  const [minSeverity, setMinSeverity] = useState<(typeof SEVERITIES)[number]>('medium');
  const eps = endpoints.data ?? [];
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-notifications">
      <Problem error={endpoints.error ?? rules.error ?? act.error} />
      {sent && (
        <p class="ok" role="status">
          {sent}
        </p>
      )}
      <h2>Endpoints</h2>
      {endpoints.data === null ? (
        <p>Loading…</p>
      ) : eps.length === 0 ? (
        <Empty>
          No notification endpoint: add a webhook below, then route alerts to it with a rule.
        </Empty>
      ) : (
        <table aria-label="Notification endpoints">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Where</th>
              <th scope="col">Health</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {eps.map((e) => (
              <tr key={e.id} data-endpoint-id={e.id}>
                <td>{e.name}</td>
                <td>{e.kind}</td>
                <td>{e.webhook?.origin ?? e.email?.to.join(', ') ?? '—'}</td>
                <td>
                  breaker {e.breaker.state}
                  {e.lastSuccessAt ? ` · ok ${when(e.lastSuccessAt)}` : ''}
                  {e.lastFailureAt ? ` · failed ${when(e.lastFailureAt)}` : ''}
                </td>
                <td>
                  <button
                    type="button"
                    onClick={() =>
                      void act.run(async () => {
                        await session.client.notifications.endpoints.test(e.id);
                        setSent(
                          `A test message to “${e.name}” is queued; its delivery shows under Health.`,
                        );
                        endpoints.reload();
                      })
                    }
                  >
                    Send test to {e.name}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="inline"
        aria-label="Add webhook"
        onSubmit={(ev) => {
          ev.preventDefault();
          void act.run(async () => {
            await session.client.notifications.endpoints.create({
              kind: 'webhook',
              name,
              url,
              secret,
            });
            setName('');
            setUrl('');
            setSecret('');
            endpoints.reload();
          });
        }}
      >
        <label>
          Webhook name
          <input value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          HTTPS URL
          <input
            type="url"
            value={url}
            required
            placeholder="https://hooks.example.com/bulwark"
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </label>
        <label>
          Signing secret
          <input
            type="password"
            required
            minLength={16}
            autoComplete="off"
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={act.busy}>
          Add webhook
        </button>
      </form>
      <h2>Routing rules</h2>
      {rules.data === null ? (
        <p>Loading…</p>
      ) : rules.data.length === 0 ? (
        <Empty>No routing rule: alerts notify nobody. Add one below once an endpoint exists.</Empty>
      ) : (
        <table aria-label="Routing rules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">From severity</th>
              <th scope="col">Kinds</th>
              <th scope="col">To</th>
              <th scope="col">Enabled</th>
            </tr>
          </thead>
          <tbody>
            {rules.data.map((r) => (
              <tr key={r.id}>
                <td>{r.name}</td>
                <td>{r.minSeverity}</td>
                <td>{r.kinds.length ? r.kinds.join(', ') : 'all'}</td>
                <td>
                  {r.endpointIds.map((id) => eps.find((e) => e.id === id)?.name ?? id).join(', ')}
                </td>
                <td>{r.enabled ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {eps.length > 0 && (
        <form
          class="inline"
          aria-label="Add routing rule"
          onSubmit={(ev) => {
            ev.preventDefault();
            void act.run(async () => {
              await session.client.notifications.rules.create({
                name: ruleName,
                minSeverity,
                endpointIds: [ruleEndpoint],
              });
              setRuleName('');
              rules.reload();
            });
          }}
        >
          <label>
            Rule name
            <input value={ruleName} required onInput={(e) => setRuleName(e.currentTarget.value)} />
          </label>
          <label>
            From severity
            <select
              value={minSeverity}
              onChange={(e) => setMinSeverity(e.currentTarget.value as typeof minSeverity)}
            >
              {SEVERITIES.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          <label>
            To endpoint
            <select
              value={ruleEndpoint}
              required
              onChange={(e) => setRuleEndpoint(e.currentTarget.value)}
            >
              <option value="">Choose…</option>
              {eps.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={act.busy}>
            Add rule
          </button>
        </form>
      )}
    </div>
  );
}

/** An id shortened to its last 8 characters; the whole id is its title. */
function Short({ id }: { id: string | null }) {
  if (id === null) return null;
  return (
    <span class="mono" title={id}>
      …{id.slice(-8)}
    </span>
  );
}

function AuditLog({ session }: { session: Session }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [action, setAction] = useState('');
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      session.client.audit.list({
        limit: 25,
        ...(action ? { action } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    [session, cursor, action],
  );
  const verdict = useLoad(() => session.client.audit.verify(), [session]);
  const v = verdict.data;
  return (
    <div class="panel" role="tabpanel" aria-labelledby="tab-audit">
      <Problem error={page.error ?? verdict.error} />
      <p
        class={v === null ? '' : v.ok ? 'ok' : 'error'}
        role="status"
        data-chain={v === null ? 'checking' : v.ok ? 'ok' : 'broken'}
      >
        {v === null
          ? 'Verifying the hash chain…'
          : v.ok
            ? `Hash chain verified: intact up to row ${v.seq} (checked ${when(v.checkedAt)}).`
            : `Hash chain BROKEN at row ${v.seq}: ${v.reason ?? ''} (checked ${when(v.checkedAt)}).`}
      </p>
      <label class="filter">
        Action
        <input
          type="search"
          value={action}
          placeholder="e.g. createRollout"
          onInput={(e) => {
            setAction(e.currentTarget.value.trim());
            setCursors([undefined]);
          }}
        />
      </label>
      {page.data === null ? (
        <p>Loading…</p>
      ) : page.data.items.length === 0 ? (
        <Empty>No audit events{action ? ` for “${action}”` : ''}.</Empty>
      ) : (
        <table aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((e) => (
              <tr key={e.id}>
                <td>{e.seq}</td>
                <td>{when(e.at)}</td>
                <td>
                  {e.actorType} <Short id={e.actorId} />
                </td>
                <td>{e.action}</td>
                <td>
                  {e.targetType ?? '—'} <Short id={e.targetId} />
                </td>
                <td>{e.result}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Audit pages">
        <button
          type="button"
          disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
        >
          Next
        </button>
      </nav>
    </div>
  );
}

type Tab = 'findings' | 'detection' | 'notifications' | 'audit';

export function Security({ session }: { session: Session }) {
  const tabs = (
    [
      ['findings', 'Findings', 'audit:read'],
      ['detection', 'Detection rules', 'audit:read'],
      ['notifications', 'Notifications', 'notifications:manage'],
      ['audit', 'Audit log', 'audit:read'],
    ] as const
  )
    .filter(([, , perm]) => can(session, perm))
    .map(([k, name]) => [k, name] as const);
  const [tab, setTab] = useState<Tab>(tabs[0]?.[0] ?? 'findings');
  return (
    <section aria-labelledby="sec-h">
      <h1 id="sec-h">Security</h1>
      <p class="hint">Alerts are on the Alerts page.</p>
      {tabs.length === 0 ? (
        <Empty>
          Your role cannot read findings, detection rules, notifications or the audit log: ask an
          administrator for audit:read.
        </Empty>
      ) : (
        <>
          <Tabs label="Security" tabs={tabs} current={tab} onChange={setTab} />
          {tab === 'findings' && <Findings session={session} />}
          {tab === 'detection' && <Detection session={session} />}
          {tab === 'notifications' && <Notifications session={session} />}
          {tab === 'audit' && <AuditLog session={session} />}
        </>
      )}
    </section>
  );
}

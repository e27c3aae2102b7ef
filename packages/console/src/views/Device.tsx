/**
 * A device's page: presence, health now and over time, twin (desired beside reported, delta,
 * edit), commands with their live state, firmware jobs, certificates, one-time access tickets,
 * events and logs. Live from the event stream (presence, twin, commands, jobs, certificates,
 * events, logs); actions the principal may not take are not offered (the API refuses them anyway).
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { can, canOnDevice, hasScopedGrants, type Session } from '../session.js';
import { message } from '../errors.js';
import { navigate } from '../router.js';
import { useLive } from '../live.js';
import { Bars, PresenceStrip } from './charts.js';
import { DeviceKeys } from './DeviceKeys.js';
import { DeviceEvents, Logs } from './DeviceActivity.js';
import { HealthHistory } from './HealthHistory.js';

type Api = Session['client'];
type Device = Awaited<ReturnType<Api['devices']['get']>>;
type Presence = Awaited<ReturnType<Api['devices']['presence']>>;
type Twin = Awaited<ReturnType<Api['twins']['get']>>;
type Command = Awaited<ReturnType<Api['commands']['list']>>['items'][number];
type Job = Awaited<ReturnType<Api['updates']['list']>>['items'][number];
type Cert = Awaited<ReturnType<Api['devices']['certificates']>>[number];
type Ticket = Awaited<ReturnType<Api['tickets']['list']>>[number];

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
const json = (v: unknown) => JSON.stringify(v, null, 2);

/** Loads with `load` now, again when `deps` change and whenever `reload()` is called. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setError(null);
      },
      (err: unknown) => live && setError(message(err)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { value, error, reload };
}

function Problem({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Device({ session, id }: { session: Session; id: string }) {
  const api = session.client;
  const manage = can(session, 'devices:manage');
  const device = useLoad(() => api.devices.get(id), [api, id]);
  // With a scoped grant (decision 0046), twin and commands are offered on devices in its group;
  // certificates and keys stay organization-wide.
  const tree = useLoad(
    () => (hasScopedGrants(session) ? api.locations.list() : Promise.resolve([])),
    [api],
  );
  const manageHere = canOnDevice(session, 'devices:manage', device.value, tree.value ?? []);
  const presence = useLoad(() => api.devices.presence(id), [api, id]);
  const twin = useLoad(() => api.twins.get(id), [api, id]);
  const commands = useLoad(() => api.commands.list(id, { limit: 10 }), [api, id]);
  const jobs = useLoad(() => api.updates.list({ deviceId: id, limit: 10 }), [api, id]);
  const certs = useLoad(() => api.devices.certificates(id), [api, id]);
  const [spans, setSpans] = useState<{ from: number; to: number; online: boolean }[]>([]);

  // The presence strip: from the state at load, extended by each connect and disconnect.
  useEffect(() => {
    const p = presence.value;
    if (p === null || spans.length > 0) return;
    setSpans([{ from: Date.now(), to: Date.now(), online: p.online }]);
  }, [presence.value]);
  useEffect(() => {
    const t = setInterval(() => {
      setSpans((s) =>
        s.length === 0 ? s : [...s.slice(0, -1), { ...s[s.length - 1]!, to: Date.now() }],
      );
    }, 5000);
    return () => clearInterval(t);
  }, []);

  useLive((e) => {
    if (e === null) {
      for (const r of [device, presence, twin, commands, jobs, certs]) r.reload();
      return;
    }
    if (e.deviceId !== id) return;
    switch (e.type) {
      case 'device.connected':
      case 'device.disconnected': {
        presence.reload();
        device.reload();
        const online = e.type === 'device.connected';
        const at = Date.now();
        setSpans((s) =>
          s.length === 0
            ? [{ from: at, to: at, online }]
            : [...s.slice(0, -1), { ...s[s.length - 1]!, to: at }, { from: at, to: at, online }],
        );
        break;
      }
      case 'device.state_changed':
        device.reload();
        break;
      case 'twin.desired_changed':
      case 'twin.reported_changed':
        twin.reload();
        break;
      case 'command.transition':
        commands.reload();
        break;
      case 'update_job.transition':
        jobs.reload();
        device.reload();
        break;
      case 'certificate.issued':
      case 'certificate.renewed':
      case 'certificate.revoked':
        certs.reload();
        break;
      default:
    }
  });

  const d = device.value;
  const p = presence.value;
  return (
    <section class="device">
      <p>
        <a
          href="/fleet"
          onClick={(e) => {
            e.preventDefault();
            navigate('/fleet');
          }}
        >
          ← Fleet
        </a>
      </p>
      <Problem error={device.error} />
      {d === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <h1>
            {d.name}{' '}
            {p && (
              <span
                class={p.online ? 'badge ok' : 'badge off'}
                data-presence={p.online ? 'online' : 'offline'}
              >
                {p.online ? 'online' : 'offline'}
              </span>
            )}
          </h1>
          <dl class="facts">
            <dt>Type</dt>
            <dd>{d.type}</dd>
            <dt>State</dt>
            <dd>{d.state}</dd>
            <dt>Firmware</dt>
            <dd>{d.firmwareVersion ?? '—'}</dd>
            <dt>Last seen</dt>
            <dd>{when(d.lastSeenAt)}</dd>
            <dt>{p?.online ? 'Online since' : 'Offline since'}</dt>
            <dd>{when(p?.since)}</dd>
          </dl>
          <Health presence={p} spans={spans} session={session} id={id} />
          <TwinPanel
            session={session}
            id={id}
            twin={twin.value}
            error={twin.error}
            manage={manageHere}
            onChange={twin.reload}
          />
          <Commands
            session={session}
            id={id}
            items={commands.value?.items ?? null}
            error={commands.error}
            manage={manageHere}
            onSent={commands.reload}
          />
          <Jobs items={jobs.value?.items ?? null} error={jobs.error} />
          <Certificates
            session={session}
            id={id}
            items={certs.value ?? null}
            error={certs.error}
            manage={manage}
            onChange={certs.reload}
          />
          <DeviceKeys session={session} id={id} manage={manage} />
          <Tickets session={session} id={id} />
          <DeviceEvents session={session} id={id} />
          <Logs session={session} id={id} />
        </>
      )}
    </section>
  );
}

function Health({
  presence,
  spans,
  session,
  id,
}: {
  presence: Presence | null;
  spans: { from: number; to: number; online: boolean }[];
  session: Session;
  id: string;
}) {
  const m = presence?.metrics;
  const used = (x: { totalBytes: number; availableBytes: number }) =>
    x.totalBytes > 0 ? ((x.totalBytes - x.availableBytes) / x.totalBytes) * 100 : 0;
  return (
    <div class="panel">
      <h2>Presence and health</h2>
      <PresenceStrip spans={spans} />
      {m ? (
        <>
          <Bars
            label={`Health reported ${when(m.at)}`}
            bars={[
              { name: 'CPU', percent: m.cpuPercent },
              { name: 'Memory', percent: used(m.memory) },
              { name: 'Disk', percent: used(m.disk) },
            ]}
          />
          <p class="hint">Up {Math.round(m.uptimeSeconds / 60)} min.</p>
        </>
      ) : (
        <p class="empty">The device has not reported health metrics yet (the agent sends them).</p>
      )}
      <HealthHistory session={session} id={id} />
    </div>
  );
}

function TwinPanel({
  session,
  id,
  twin,
  error,
  manage,
  onChange,
}: {
  session: Session;
  id: string;
  twin: Twin | null;
  error: string | null;
  manage: boolean;
  onChange: () => void;
}) {
  const [patch, setPatch] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const apply = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(patch);
    } catch (err) {
      setProblem(`The patch is not JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      setProblem('The patch must be a JSON object (a merge patch: null deletes a key).');
      return;
    }
    setBusy(true);
    try {
      await session.client.twins.patchDesired(
        id,
        parsed as Record<string, never>,
        twin?.desired.version,
      );
      setPatch('');
      onChange();
    } catch (err) {
      setProblem(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel">
      <h2>Twin</h2>
      <Problem error={error} />
      {twin && (
        <>
          <p>
            <span
              class={twin.inSync ? 'badge ok' : 'badge warn'}
              data-twin-sync={twin.inSync ? 'yes' : 'no'}
            >
              {twin.inSync ? 'in sync' : 'not in sync'}
            </span>{' '}
            desired v{twin.desired.version}, reported v{twin.reported?.version ?? 0}
            {twin.reported ? ` (for desired v${twin.reported.desiredVersion})` : ''}
          </p>
          <div class="twin">
            <div>
              <h3>Desired</h3>
              <pre aria-label="Desired state" data-twin="desired">
                {json(twin.desired.state)}
              </pre>
            </div>
            <div>
              <h3>Reported</h3>
              <pre aria-label="Reported state" data-twin="reported">
                {json(twin.reported?.state ?? {})}
              </pre>
            </div>
            <div>
              <h3>Delta</h3>
              <pre aria-label="Delta">{json(twin.delta)}</pre>
            </div>
          </div>
          {twin.reported && twin.reported.errors.length > 0 && (
            <p class="error">
              Device errors: {twin.reported.errors.map((x) => `${x.path}: ${x.message}`).join('; ')}
            </p>
          )}
          {manage && (
            <form onSubmit={(e) => void apply(e)}>
              <label>
                Change desired (JSON merge patch)
                <textarea
                  rows={3}
                  value={patch}
                  placeholder='{"led": "on"}'
                  onInput={(e) => setPatch(e.currentTarget.value)}
                />
              </label>
              <Problem error={problem} />
              <button type="submit" disabled={busy || patch.trim() === ''}>
                Apply to desired
              </button>
            </form>
          )}
        </>
      )}
    </div>
  );
}

function Commands({
  session,
  id,
  items,
  error,
  manage,
  onSent,
}: {
  session: Session;
  id: string;
  items: Command[] | null;
  error: string | null;
  manage: boolean;
  onSent: () => void;
}) {
  const [name, setName] = useState('');
  const [params, setParams] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const send = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    let parsed: Record<string, never> | undefined;
    if (params.trim() !== '') {
      try {
        parsed = JSON.parse(params) as Record<string, never>;
      } catch (err) {
        setProblem(`The parameters are not JSON: ${(err as Error).message}`);
        return;
      }
    }
    try {
      await session.client.commands.send(id, {
        name: name.trim(),
        ...(parsed ? { params: parsed } : {}),
      });
      setName('');
      setParams('');
      onSent();
    } catch (err) {
      setProblem(message(err));
    }
  };
  return (
    <div class="panel">
      <h2>Commands</h2>
      <Problem error={error} />
      {manage && (
        <form class="inline" onSubmit={(e) => void send(e)}>
          <label>
            Command
            <input
              value={name}
              placeholder="reboot"
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <label>
            Parameters (JSON, optional)
            <input
              value={params}
              placeholder='{"delay": 5}'
              onInput={(e) => setParams(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={name.trim() === ''}>
            Send
          </button>
        </form>
      )}
      <Problem error={problem} />
      {items === null ? null : items.length === 0 ? (
        <p class="empty">No commands yet{manage ? ': send one above.' : '.'}</p>
      ) : (
        <table aria-label="Commands">
          <thead>
            <tr>
              <th scope="col">Command</th>
              <th scope="col">State</th>
              <th scope="col">Sent</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} data-command-id={c.id}>
                <td>{c.name}</td>
                <td class="state">
                  <span
                    class={
                      c.state === 'succeeded'
                        ? 'badge ok'
                        : c.state === 'failed' || c.state === 'expired'
                          ? 'badge sev-high'
                          : 'badge'
                    }
                  >
                    {c.state}
                  </span>
                </td>
                <td>{when(c.createdAt)}</td>
                <td>
                  {c.error
                    ? `${c.error.code}: ${c.error.message}`
                    : c.result
                      ? JSON.stringify(c.result)
                      : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Jobs({ items, error }: { items: Job[] | null; error: string | null }) {
  return (
    <div class="panel">
      <h2>Firmware jobs</h2>
      <Problem error={error} />
      {items === null ? null : items.length === 0 ? (
        <p class="empty">No firmware job has targeted this device.</p>
      ) : (
        <table aria-label="Firmware jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Origin</th>
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((j) => (
              <tr key={j.id}>
                <td>{j.actionId}</td>
                <td>{j.origin}</td>
                <td>{j.state}</td>
                <td>
                  {j.progress && j.progress.total > 0
                    ? `${Math.round((j.progress.bytes / j.progress.total) * 100)} %`
                    : '—'}
                </td>
                <td>{when(j.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Certificates({
  session,
  id,
  items,
  error,
  manage,
  onChange,
}: {
  session: Session;
  id: string;
  items: Cert[] | null;
  error: string | null;
  manage: boolean;
  onChange: () => void;
}) {
  const [problem, setProblem] = useState<string | null>(null);
  const revoke = async (serial: string) => {
    if (!window.confirm(`Revoke certificate ${serial}? The device can no longer use it.`)) return;
    setProblem(null);
    try {
      await session.client.devices.revokeCertificate(id, serial, 'keyCompromise');
      onChange();
    } catch (err) {
      setProblem(message(err));
    }
  };
  return (
    <div class="panel">
      <h2>Certificates</h2>
      <Problem error={error ?? problem} />
      {items === null ? null : items.length === 0 ? (
        <p class="empty">
          No certificate: the device enrolls with a one-time token, or uses a device key.
        </p>
      ) : (
        <table aria-label="Certificates">
          <thead>
            <tr>
              <th scope="col">Serial</th>
              <th scope="col">Valid until</th>
              <th scope="col">Status</th>
              {manage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.serial}>
                <td class="mono">{c.serial}</td>
                <td>{when(c.notAfter)}</td>
                <td>
                  {c.revokedAt
                    ? `revoked (${c.revocationReason ?? '—'})`
                    : c.supersededBy
                      ? 'renewed'
                      : 'valid'}
                </td>
                {manage && (
                  <td>
                    {!c.revokedAt && <button onClick={() => void revoke(c.serial)}>Revoke</button>}
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

function Tickets({ session, id }: { session: Session; id: string }) {
  const api = session.client;
  const list = useLoad(() => api.tickets.list(id), [api, id]);
  const [perm, setPerm] = useState<'read' | 'operate' | 'admin'>('read');
  const [issued, setIssued] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const issue = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    try {
      const r = await api.tickets.issue(id, { perm });
      setIssued(r.ticket);
      list.reload();
    } catch (err) {
      setProblem(message(err));
    }
  };
  const revoke = async (t: Ticket) => {
    setProblem(null);
    try {
      await api.tickets.revoke(id, t.jti);
      list.reload();
    } catch (err) {
      setProblem(message(err));
    }
  };
  const open = (list.value ?? []).filter(
    (t) => t.revokedAt === null && Date.parse(t.expiresAt) > Date.now(),
  );
  return (
    <div class="panel">
      <h2>One-time access tickets</h2>
      <form class="inline" onSubmit={(e) => void issue(e)}>
        <label>
          Permission
          <select value={perm} onChange={(e) => setPerm(e.currentTarget.value as typeof perm)}>
            <option value="read">read</option>
            <option value="operate">operate</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Issue ticket</button>
      </form>
      {issued && (
        <div class="once" role="status">
          <p>The ticket, shown this once (it is not stored readable anywhere; copy it now):</p>
          <textarea readOnly rows={3} aria-label="Issued ticket" value={issued} />
          <button onClick={() => setIssued(null)}>Done</button>
        </div>
      )}
      <Problem error={list.error ?? problem} />
      {open.length === 0 ? (
        <p class="empty">No open tickets.</p>
      ) : (
        <table aria-label="Tickets">
          <thead>
            <tr>
              <th scope="col">Permission</th>
              <th scope="col">Issued</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {open.map((t) => (
              <tr key={t.jti}>
                <td>
                  {t.perm}
                  {t.backup ? ' (backup)' : ''}
                </td>
                <td>{when(t.issuedAt)}</td>
                <td>{when(t.expiresAt)}</td>
                <td>
                  <button onClick={() => void revoke(t)}>Revoke</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

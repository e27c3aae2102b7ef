/** The Bulwark web console (decision 0038): first run, sign-in, the fleet and its alerts. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { anonymous, onSession, restore, session, signOut, type Session } from './session.js';
import { devicePath, isAppPath, navigate, usePath } from './router.js';
import { liveFor } from './live.js';
import { message } from './errors.js';
import { Setup } from './views/Setup.js';
import { Login } from './views/Login.js';
import { Fleet } from './views/Fleet.js';
import { Alerts } from './views/Alerts.js';
import { Device } from './views/Device.js';
import { Telemetry } from './views/Telemetry.js';
import { OPS_PATHS, OpsView } from './lazy.js';
import { IDLE_CHOICES, idleMinutes, setIdleMinutes, watchIdle } from './idle.js';

function Shell({ s, path }: { s: Session; path: string }) {
  const [idle, setIdle] = useState(idleMinutes());
  useEffect(() => watchIdle(() => void signOut().then(() => navigate('/login', true))), []);
  const link = (
    to:
      | '/fleet'
      | '/alerts'
      | '/telemetry'
      | '/firmware'
      | '/rollouts'
      | '/security'
      | '/admin'
      | '/account',
    label: string,
  ) => (
    <a
      href={to}
      aria-current={path === to ? 'page' : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <>
      <header>
        <strong>Bulwark</strong>
        <nav aria-label="Main">
          {link('/fleet', 'Fleet')}
          {link('/alerts', 'Alerts')}
          {link('/telemetry', 'Telemetry')}
          {link('/firmware', 'Firmware')}
          {link('/rollouts', 'Rollouts')}
          {link('/security', 'Security')}
          {link('/admin', 'Admin')}
        </nav>
        <span class="who">
          {s.me.name} · {s.me.organization.name}
        </span>
        <nav class="account" aria-label="Account">
          {link('/account', 'Your account')}
        </nav>
        <label class="idle">
          Sign out when idle
          <select
            value={idle}
            onChange={(e) => {
              const n = Number(e.currentTarget.value);
              setIdleMinutes(n);
              setIdle(n);
            }}
          >
            {IDLE_CHOICES.map((n) => (
              <option key={n} value={n}>
                {n} min
              </option>
            ))}
          </select>
        </label>
        <button
          onClick={() => {
            void signOut().then(() => navigate('/login', true));
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {path === '/alerts' ? (
          <Alerts session={s} />
        ) : path === '/telemetry' ? (
          <Telemetry session={s} />
        ) : devicePath(path) !== null ? (
          <Device session={s} id={devicePath(path)!} />
        ) : OPS_PATHS.includes(path) ? (
          <OpsView path={path} session={s} />
        ) : (
          <Fleet session={s} />
        )}
      </main>
    </>
  );
}

function App() {
  const path = usePath();
  const [s, setS] = useState<Session | null>(session());
  const [setupRequired, setSetupRequired] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(
    () =>
      onSession((next) => {
        setS(next);
        liveFor(next);
        // Someone signed in: setup is done (the owner just created, or long ago).
        if (next !== null) setSetupRequired(false);
      }),
    [],
  );
  useEffect(() => {
    anonymous.setup
      .status()
      // A session cookie from before a reload signs the user back in before any page shows.
      .then(async (r) => {
        if (!r.required) await restore();
        setSetupRequired(r.required);
      })
      .catch((err: unknown) => setError(message(err)));
  }, []);

  // Where each state of the session belongs.
  useEffect(() => {
    if (setupRequired === null) return;
    if (setupRequired && s === null) navigate('/setup', true);
    else if (s === null && path !== '/login') navigate('/login', true);
    else if (s !== null && !isAppPath(path)) navigate('/fleet', true);
  }, [setupRequired, s, path]);

  if (error) return <p class="error">The hub did not answer: {error}</p>;
  if (setupRequired === null) return <p>Loading…</p>;
  if (s !== null) return <Shell s={s} path={path} />;
  return setupRequired ? <Setup /> : <Login />;
}

render(<App />, document.getElementById('app')!);

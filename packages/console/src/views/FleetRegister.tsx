/**
 * Registering a device from the fleet (issue 15's walk: "create a location and a device"; decision
 * 0038, amendment of 2026-12-07 "the walk"): name, type, firmware version and location go to
 * `POST /devices`, then a one-time enrollment token is made for it (`POST /devices/{id}/
 * enrollment-tokens`) and shown this once — the device's agent enrolls with it (`enrollment.token`,
 * or `bulwark simulate --token-file`). Its own lazy chunk; offered only with `devices:manage`, the
 * permission both routes require (the API refuses them without it all the same).
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { navigate } from '../router.js';
import { Problem, useAction, useLoad, when } from '../ui.js';
import { LocationSelect } from './FleetFilters.js';

/** The hub's device type pattern (protocol api/devices.ts), checked before anything is sent. */
const DEVICE_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function FleetRegister({
  session,
  onRegistered,
}: {
  session: Session;
  /** Told once a device is registered (the fleet reloads what is in view). */
  onRegistered: () => void;
}) {
  const api = session.client;
  const locations = useLoad(() => api.locations.list(), [api]);
  const [name, setName] = useState('');
  const [type, setType] = useState('');
  const [firmware, setFirmware] = useState('');
  const [location, setLocation] = useState('');
  const [made, setMade] = useState<{
    id: string;
    name: string;
    token: string;
    expiresAt: string;
  } | null>(null);
  const act = useAction();
  const typeError =
    type !== '' && !DEVICE_TYPE.test(type)
      ? 'A type is letters, digits, “.”, “_” or “-” (at most 64), starting with a letter or digit.'
      : undefined;

  const register = () =>
    void act.run(async () => {
      const d = await api.devices.create({
        name: name.trim(),
        type,
        ...(firmware.trim() !== '' ? { firmwareVersion: firmware.trim() } : {}),
        ...(location !== '' ? { locationId: location } : {}),
      });
      onRegistered();
      const t = await api.devices.createEnrollmentToken(d.id, {});
      setMade({ id: d.id, name: d.name, token: t.token, expiresAt: t.expiresAt });
      setName('');
      setType('');
      setFirmware('');
    });

  return (
    <section class="panel register" aria-labelledby="register-title">
      <h2 id="register-title">Register a device</h2>
      <form
        class="inline"
        aria-label="Register a device"
        onSubmit={(e) => {
          e.preventDefault();
          register();
        }}
      >
        <label class="filter">
          Device name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="filter">
          Device type
          <input
            required
            value={type}
            placeholder="e.g. gateway"
            aria-invalid={typeError ? 'true' : 'false'}
            onInput={(e) => setType(e.currentTarget.value)}
          />
        </label>
        <label class="filter">
          Firmware version (optional)
          <input value={firmware} onInput={(e) => setFirmware(e.currentTarget.value)} />
        </label>
        <LocationSelect
          locations={locations.data ?? []}
          value={location}
          onChange={setLocation}
          empty="none"
        />
        <button
          type="submit"
          disabled={act.busy || name.trim() === '' || type === '' || typeError !== undefined}
        >
          Register
        </button>
        {typeError && (
          <p class="error" role="alert">
            {typeError}
          </p>
        )}
      </form>
      <Problem error={act.error} />
      <Problem error={locations.error} />
      {made && (
        <div class="once" role="status" data-registered={made.id}>
          <p>
            <a
              href={`/devices/${made.id}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/devices/${made.id}`);
              }}
            >
              {made.name}
            </a>{' '}
            is registered. Its one-time enrollment token, shown this once (valid until{' '}
            {when(made.expiresAt)}; give it to the device's agent as <code>enrollment.token</code>):
          </p>
          <textarea readOnly rows={2} aria-label="Enrollment token" value={made.token} />
          <button onClick={() => setMade(null)}>Done</button>
        </div>
      )}
    </section>
  );
}

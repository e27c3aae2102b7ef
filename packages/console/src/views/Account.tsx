/**
 * Your account (decision 0038, amendment of 2026-12-07 "TOTP and the signing root"): who
 * you are, and two-factor sign-in with TOTP — enroll (a QR code drawn here, and the secret as text
 * for manual entry), confirm with a code from the app, or turn it off with a current code. The
 * hub has no recovery codes: losing the app means an administrator resets the account.
 */
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Problem, useAction, useLoad } from '../ui.js';
import { QrCode } from './QrCode.js';

type Enrollment = Awaited<ReturnType<Session['client']['auth']['beginTotp']>>;

/** A six-digit code input (the app's current code). */
function CodeInput({
  label,
  value,
  onInput,
}: {
  label: string;
  value: string;
  onInput: (v: string) => void;
}) {
  return (
    <label>
      {label}
      <input
        value={value}
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9]{6}"
        maxLength={6}
        required
        onInput={(e) => onInput(e.currentTarget.value.trim())}
      />
    </label>
  );
}

function Enroll({ session, onEnabled }: { session: Session; onEnabled: () => void }) {
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [code, setCode] = useState('');
  const act = useAction();
  const begin = async () => {
    const e = await act.run(() => session.client.auth.beginTotp());
    if (e) {
      setEnrollment(e);
      setCode('');
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    const done = await act.run(async () => {
      await session.client.auth.confirmTotp(code);
      return true;
    });
    if (done) onEnabled();
  };
  if (enrollment === null)
    return (
      <>
        <p>
          Sign-in asks only for your password. Add a code from an authenticator app (TOTP) so that a
          stolen password is not enough.
        </p>
        <button onClick={() => void begin()} disabled={act.busy}>
          Set up TOTP
        </button>
        <Problem error={act.error} />
      </>
    );
  return (
    <form aria-label="Set up TOTP" onSubmit={(e) => void confirm(e)}>
      <p>
        Scan the QR code with your authenticator app, or type the secret into it; then enter the
        code it shows. Until you confirm, sign-in does not change.
      </p>
      <QrCode text={enrollment.otpauthUrl} label="QR code of the TOTP secret" />
      <div class="secret">
        <label>
          Secret (for manual entry)
          <input readOnly value={enrollment.secret} class="mono" />
        </label>
        <details>
          <summary>The otpauth URI</summary>
          <p class="mono" data-otpauth>
            {enrollment.otpauthUrl}
          </p>
        </details>
      </div>
      <CodeInput label="Code from your app" value={code} onInput={setCode} />
      <button type="submit" disabled={act.busy || !/^\d{6}$/.test(code)}>
        Confirm and turn on TOTP
      </button>
      <button type="button" onClick={() => void begin()} disabled={act.busy}>
        Start again with a new secret
      </button>
      <Problem error={act.error} />
    </form>
  );
}

function Disable({ session, onDisabled }: { session: Session; onDisabled: () => void }) {
  const [code, setCode] = useState('');
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const done = await act.run(async () => {
      await session.client.auth.disableTotp(code);
      return true;
    });
    if (done) onDisabled();
  };
  return (
    <form aria-label="Turn off TOTP" class="inline" onSubmit={(e) => void submit(e)}>
      <CodeInput label="Current TOTP code" value={code} onInput={setCode} />
      <button type="submit" class="danger" disabled={act.busy || !/^\d{6}$/.test(code)}>
        Turn off TOTP
      </button>
      <Problem error={act.error} />
    </form>
  );
}

export function Account({ session }: { session: Session }) {
  // Asked again: the session's `me` is from sign-in, and TOTP may have changed since.
  const fresh = useLoad(() => session.client.me(), [session]);
  const me = fresh.data ?? session.me;
  const [changed, setEnabled] = useState<boolean | null>(null);
  const enabled = changed ?? me.totpEnabled === true;
  const [note, setNote] = useState<string | null>(null);
  return (
    <section aria-labelledby="acct-h">
      <h1 id="acct-h">Your account</h1>
      <dl class="facts panel" aria-label="You">
        <dt>Name</dt>
        <dd>{me.name}</dd>
        <dt>Email</dt>
        <dd>{me.email ?? '—'}</dd>
        <dt>Organization</dt>
        <dd>{me.organization.name}</dd>
        <dt>Role</dt>
        <dd>{me.role ?? '—'}</dd>
      </dl>
      <div class="panel" aria-labelledby="totp-h" role="region">
        <h2 id="totp-h">Two-factor sign-in (TOTP)</h2>
        {me.kind !== 'user' ? (
          <p>An API key signs in with its key alone: TOTP is for users.</p>
        ) : (
          <>
            <p data-totp={enabled ? 'on' : 'off'}>
              TOTP is <strong>{enabled ? 'on' : 'off'}</strong>.
            </p>
            {note && (
              <p class="ok" role="status">
                {note}
              </p>
            )}
            {enabled ? (
              <Disable
                session={session}
                onDisabled={() => {
                  setEnabled(false);
                  setNote('TOTP is off: sign-in asks only for your password.');
                }}
              />
            ) : (
              <Enroll
                session={session}
                onEnabled={() => {
                  setEnabled(true);
                  setNote('TOTP is on: sign-in now asks for a code from your app.');
                }}
              />
            )}
          </>
        )}
      </div>
    </section>
  );
}

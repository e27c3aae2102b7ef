/** Sign-in with email and password, and a TOTP code when the account has one. */
import { useState } from 'preact/hooks';
import { signIn } from '../session.js';
import { navigate } from '../router.js';
import { isCode, message } from '../errors.js';

export function Login() {
  const [error, setError] = useState<string | null>(null);
  const [needTotp, setNeedTotp] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const v = (k: string) => {
      const x = f.get(k);
      return typeof x === 'string' ? x : '';
    };
    setBusy(true);
    setError(null);
    try {
      await signIn(v('email'), v('password'), needTotp ? v('totp').trim() : undefined);
      navigate('/fleet', true);
    } catch (err) {
      if (isCode(err, 'totp_required')) {
        setNeedTotp(true);
        setError('Enter the code from your authenticator app.');
      } else setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="card">
      <h1>Sign in to Bulwark</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Email
          <input name="email" type="email" required autocomplete="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" required autocomplete="current-password" />
        </label>
        {needTotp && (
          <label>
            TOTP code
            <input
              name="totp"
              inputMode="numeric"
              pattern="[0-9]{6}"
              required
              autocomplete="one-time-code"
            />
          </label>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

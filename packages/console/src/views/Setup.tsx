/** First run: the one-time setup token (printed by `npm start`) creates the organization's owner. */
import { useState } from 'preact/hooks';
import { anonymous, signIn } from '../session.js';
import { navigate } from '../router.js';
import { message } from '../errors.js';

export function Setup() {
  const [error, setError] = useState<string | null>(null);
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
      await anonymous.setup.complete({
        token: v('token').trim(),
        organization: v('organization'),
        name: v('name'),
        email: v('email'),
        password: v('password'),
      });
      await signIn(v('email'), v('password'));
      navigate('/fleet', true);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="card">
      <h1>Set up Bulwark</h1>
      <p>
        Paste the one-time setup token the hub printed when it started, and create the owner of your
        organization.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Setup token
          <input name="token" required autocomplete="off" />
        </label>
        <label>
          Organization
          <input name="organization" required />
        </label>
        <label>
          Your name
          <input name="name" required autocomplete="name" />
        </label>
        <label>
          Email
          <input name="email" type="email" required autocomplete="username" />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            required
            minLength={12}
            autocomplete="new-password"
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Create owner and sign in
        </button>
      </form>
    </main>
  );
}

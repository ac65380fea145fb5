/** Sign in with an API key: checked against the server (GET /v1/me) before anything else is shown. */
import { type FormEvent, useState } from 'react';
import { errorMessage, TagverseApiError } from '../api/console-api.js';
import type { SignIn } from '../api/session.js';

export function SignInPage(props: { signIn: SignIn; message?: string | undefined }) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(props.message);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (key.trim() === '') return;
    setBusy(true);
    setError(undefined);
    try {
      await props.signIn(key, remember);
    } catch (err) {
      setError(
        err instanceof TagverseApiError && err.status === 401
          ? 'This API key is not valid for this server.'
          : errorMessage(err),
      );
      setBusy(false);
    }
  };

  return (
    <div className="sign-in">
      <form className="sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Tagverse
        </div>
        <h1 id="sign-in-title">Sign in to the console</h1>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="tvk_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <label className="checkbox">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          Keep me signed in on this device
        </label>
        {error && (
          <p className="error-note" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button-primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="hint">
          Ask an admin for a key, or create one: <code>tagverse keys create --role viewer</code>.{' '}
          <code>npm start</code> prints an admin key for the demo.
        </p>
      </form>
    </div>
  );
}

/**
 * The operations views load on first use (their own chunks), so the initial JS stays the sign-in,
 * the fleet and the alerts (decision 0038's budget: ≤ 250 KB gzipped).
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from './session.js';

type View = FunctionComponent<{ session: Session }>;
const loaders: Record<string, () => Promise<View>> = {
  '/firmware': () => import('./views/Firmware.js').then((m) => m.Firmware),
  '/rollouts': () => import('./views/Rollouts.js').then((m) => m.Rollouts),
  '/security': () => import('./views/Security.js').then((m) => m.Security),
  '/admin': () => import('./views/Admin.js').then((m) => m.Admin),
  // The QR encoder (uqr) is only in this chunk: the account page alone draws a QR code.
  '/account': () => import('./views/Account.js').then((m) => m.Account),
};
const loaded = new Map<string, View>();

export const OPS_PATHS = Object.keys(loaders);

export function OpsView({ path, session }: { path: string; session: Session }) {
  const [View, setView] = useState<View | null>(() => loaded.get(path) ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const have = loaded.get(path);
    if (have) return setView(() => have);
    setView(null);
    let live = true;
    loaders[path]?.()
      .then((v) => {
        loaded.set(path, v);
        if (live) setView(() => v);
      })
      .catch((err: unknown) => live && setError(String(err)));
    return () => {
      live = false;
    };
  }, [path]);
  if (error) return <p class="error">The view did not load: {error}</p>;
  return View ? <View session={session} /> : <p>Loading…</p>;
}

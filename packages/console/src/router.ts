/** A tiny history router: the console's few client-side paths (the hub serves index.html). */
import { useEffect, useState } from 'preact/hooks';

export const PATHS = [
  '/setup',
  '/login',
  '/fleet',
  '/alerts',
  '/telemetry',
  // operations views (firmware, rollouts, security, administration)
  '/firmware',
  '/rollouts',
  '/security',
  '/admin',
  '/account',
] as const;
export type Path = (typeof PATHS)[number] | `/devices/${string}`;

/** The device id of a device page's path (`/devices/<id>`), else null. */
export function devicePath(path: string): string | null {
  const m = /^\/devices\/([0-9a-f-]{36})$/.exec(path);
  return m ? m[1]! : null;
}

/** The paths of a signed-in user (the rest go to the fleet). */
export function isAppPath(path: string): boolean {
  return (
    ((PATHS as readonly string[]).includes(path) && path !== '/setup' && path !== '/login') ||
    devicePath(path) !== null
  );
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((fn) => fn()));

export function navigate(path: Path, replace = false): void {
  if (window.location.pathname === path) return;
  if (replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  listeners.forEach((fn) => fn());
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const fn = () => setPath(window.location.pathname);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return path;
}

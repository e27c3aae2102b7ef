/** A tiny history router: the console's few client-side paths (the hub serves index.html). */
import { useEffect, useState } from 'preact/hooks';

export const PATHS = [
  '/setup',
  '/login',
  '/fleet',
  '/alerts',
  // operations views (firmware, rollouts, security, administration)
  '/firmware',
  '/rollouts',
  '/security',
  '/admin',
] as const;
export type Path = (typeof PATHS)[number];

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

/**
 * The idle timeout (issue 15, item 9): after N minutes without a key press, pointer or scroll in
 * the page, the session is signed out (the refresh token revoked). N defaults to 15 and is chosen
 * per session in the header (5–60); it is kept in memory, like the tokens.
 */
export const IDLE_CHOICES = [5, 15, 30, 60] as const;
let minutes = 15;
let timer: ReturnType<typeof setTimeout> | undefined;
let onIdle: (() => void) | null = null;

const EVENTS = ['keydown', 'pointerdown', 'wheel', 'touchstart'] as const;

function arm(): void {
  clearTimeout(timer);
  if (onIdle !== null) timer = setTimeout(() => onIdle?.(), minutes * 60_000);
}

/** Starts watching; `fn` runs once the page was idle for the chosen minutes. Returns a stop. */
export function watchIdle(fn: () => void): () => void {
  onIdle = fn;
  for (const e of EVENTS) window.addEventListener(e, arm, { passive: true });
  arm();
  return () => {
    onIdle = null;
    clearTimeout(timer);
    for (const e of EVENTS) window.removeEventListener(e, arm);
  };
}

export function idleMinutes(): number {
  return minutes;
}

export function setIdleMinutes(n: number): void {
  minutes = n;
  arm();
}

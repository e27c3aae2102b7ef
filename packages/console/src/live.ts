/**
 * The live event stream (decision 0038, amendment of 2026-12-07): one `GET /events/stream` per
 * signed-in session, read with fetch so the access token travels in the Authorization header
 * (EventSource cannot send one, and a token in a URL ends up in logs). Views subscribe with
 * `useLive`; nothing polls. A dropped stream reconnects with the last event id; a `reset` frame
 * (the gap could not be filled) or a reconnect tells every view to reload.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { LiveEvent } from '@bulwark/sdk/browser';
import type { Session } from './session.js';

/** An event, or `null`: reload everything (the stream restarted and events may be missing). */
type Listener = (e: LiveEvent | null) => void;

let current: { session: Session; stop: () => void } | null = null;
/** The last event seen: a restarted stream (a renewed token) resumes after it. */
let lastId: string | undefined;
const listeners = new Set<Listener>();
/** `connected` / `reconnecting`, for the header's indicator and the tests. */
let state: 'connected' | 'reconnecting' | 'off' = 'off';
const stateListeners = new Set<(s: typeof state) => void>();

function setState(s: typeof state): void {
  state = s;
  document.documentElement.dataset['live'] = s;
  for (const fn of stateListeners) fn(s);
}

function start(session: Session): () => void {
  const ac = new AbortController();
  let attempt = 0;
  void (async () => {
    while (!ac.signal.aborted) {
      let readyOnce = false;
      try {
        for await (const f of session.client.events.stream({
          signal: ac.signal,
          ...(lastId !== undefined ? { lastEventId: lastId } : {}),
        })) {
          if (f.kind === 'ready') {
            readyOnce = true;
            attempt = 0;
            setState('connected');
          } else if (f.kind === 'reset') {
            for (const fn of listeners) fn(null);
          } else if (f.kind === 'event') {
            if (f.id !== null) lastId = f.id;
            for (const fn of listeners) fn(f.event);
          } else if (f.kind === 'end') break;
        }
      } catch {
        /* dropped: reconnect below */
      }
      if (ac.signal.aborted) break;
      setState('reconnecting');
      // 1 s, 2 s, 4 s … at most 15 s between attempts.
      const wait = Math.min(15_000, 1000 * 2 ** Math.min(attempt++, 4));
      await new Promise((r) => setTimeout(r, readyOnce ? 500 : wait));
    }
  })();
  return () => {
    ac.abort();
    setState('off');
  };
}

/** Streams for this session (a renewed token is a new session: the stream restarts with it). */
export function liveFor(session: Session | null): void {
  if (current?.session === session) return;
  current?.stop();
  if (session === null) lastId = undefined;
  current = session ? { session, stop: start(session) } : null;
}

/** Calls `fn` for every live event while the component is mounted (`null`: reload). */
export function useLive(fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}

export function liveState(): typeof state {
  return state;
}

export function onLiveState(fn: (s: typeof state) => void): () => void {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

/**
 * Small pieces the operations views share (decision 0038, amendment of 2026-12-07): loading with
 * a readable problem+json error, empty states, progress bars, tabs, dates.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '@bulwark/sdk/browser';

/** Loads `fn` whenever `deps` change; `reload()` loads again. */
export function useLoad<T>(
  fn: () => Promise<T>,
  deps: unknown[],
): { data: T | null; error: unknown; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    fn().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(null);
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

/** Runs an action, keeping its error (null when it worked) and whether it is under way. */
export function useAction(): {
  busy: boolean;
  error: unknown;
  run: <T>(fn: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

const HINTS: Record<number, string> = {
  401: 'Your session ended: sign in again.',
  403: 'Your role does not allow this; ask an administrator for the permission.',
  404: 'It is not there (any more): refresh the list.',
  409: 'It changed meanwhile: refresh and try again.',
  429: 'Too many requests: wait a moment and try again.',
};

/** Hints by error code, before the status's: a wrong TOTP code is a 401 of a live session. */
const CODE_HINTS: Record<string, string> = {
  totp_invalid: 'Enter the code your app shows now (it changes every 30 seconds).',
};

/** An error as the user should read it: the problem's title, detail, field and what to do. */
export function Problem({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  if (error instanceof ApiError) {
    const p = error.problem as { title: string; detail?: string; field?: unknown };
    return (
      <div class="error" role="alert">
        <strong>{p.title}</strong>
        {p.detail && p.detail !== p.title ? `: ${p.detail}` : ''}
        {typeof p.field === 'string' && p.field !== '' ? ` (field ${p.field})` : ''}
        {(CODE_HINTS[error.code] ?? HINTS[error.status]) ? (
          <div class="hint">{CODE_HINTS[error.code] ?? HINTS[error.status]}</div>
        ) : null}
        <div class="code">
          {error.status} {error.code}
        </div>
      </div>
    );
  }
  return (
    <div class="error" role="alert">
      {error instanceof Error ? error.message : JSON.stringify(error)}
    </div>
  );
}

/** What an empty list says: what it is and what to do next. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/**
 * A wide table's own horizontal scroller (a tablet's width, decision 0038): the table scrolls,
 * not the page. A named region that takes the keyboard focus, so the arrow keys scroll it.
 */
export function Wide({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A labelled progress bar (an ARIA progressbar: screen readers read its value). */
export function Bar({
  label,
  value,
  max,
  text,
}: {
  label: string;
  value: number;
  max: number;
  text?: string;
}) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 100;
  return (
    <div class="bar-row">
      <span class="bar-label">{label}</span>
      <div
        class="bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={value}
        aria-valuetext={text ?? `${value} of ${max}`}
      >
        <div class="bar-fill" style={{ width: `${pct}%` }} />
      </div>
      <span class="bar-text">{text ?? `${value} / ${max}`}</span>
    </div>
  );
}

/** Tabs with the ARIA tabs pattern: arrow keys move between them. */
export function Tabs<K extends string>({
  label,
  tabs,
  current,
  onChange,
}: {
  label: string;
  tabs: readonly (readonly [K, string])[];
  current: K;
  onChange: (k: K) => void;
}) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const move = (i: number) => {
    const n = (i + tabs.length) % tabs.length;
    onChange(tabs[n]![0]);
    refs.current[n]?.focus();
  };
  return (
    <div class="tabs" role="tablist" aria-label={label}>
      {tabs.map(([k, name], i) => (
        <button
          key={k}
          ref={(el) => {
            refs.current[i] = el;
          }}
          role="tab"
          id={`tab-${k}`}
          aria-selected={current === k}
          tabIndex={current === k ? 0 : -1}
          onClick={() => onChange(k)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowRight') move(i + 1);
            else if (e.key === 'ArrowLeft') move(i - 1);
          }}
        >
          {name}
        </button>
      ))}
    </div>
  );
}

export const when = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString() : '—';

export const bytes = (n: number): string =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1048576).toFixed(1)} MiB`;

/** Comma- or whitespace-separated words, without empties. */
export const words = (s: string): string[] => s.split(/[\s,]+/).filter((w) => w !== '');

/** Options of the `wait` helpers (`commands.wait`, `updates.wait`). */
export interface WaitOptions<T = unknown> {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** The first pause between polls (default 250 ms); it doubles up to `maxIntervalMs`. */
  intervalMs?: number;
  /** The longest pause between polls (default 2 s). */
  maxIntervalMs?: number;
  /** Stops waiting early. */
  signal?: AbortSignal;
  /** Called with every value polled (the first at once), e.g. to show progress. */
  onPoll?: (value: T) => void;
}

const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Calls `get` until `done` holds for what it returns, pausing with exponential backoff between
 * calls; when time runs out, throws `timedOut(last value, timeoutMs)`.
 */
export async function pollUntil<T>(
  get: () => Promise<T>,
  done: (value: T) => boolean,
  timedOut: (last: T, timeoutMs: number) => Error,
  opts: WaitOptions<T> = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxInterval = opts.maxIntervalMs ?? 2000;
  let interval = Math.min(opts.intervalMs ?? 250, maxInterval);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    opts.onPoll?.(value);
    if (done(value)) return value;
    const left = end - Date.now();
    if (left <= 0) throw timedOut(value, timeoutMs);
    await pause(Math.min(interval, left), opts.signal);
    interval = Math.min(interval * 2, maxInterval);
  }
}

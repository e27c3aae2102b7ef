/** Helpers for hooks that may answer synchronously (the fast path) or with a promise. */

/** A value now or later. */
export type Maybe<T> = T | Promise<T>;

/** True for promises (and thenables). */
export function isPromise<T>(v: Maybe<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Continue with `f` now when `v` is a value, or after it resolves. */
export function then<T, R>(v: Maybe<T>, f: (t: T) => Maybe<R>): Maybe<R> {
  return isPromise(v) ? v.then(f) : f(v);
}

/** Call a hook, turning a synchronous throw into a rejected promise so one path handles both. */
export function attempt<T>(f: () => Maybe<T>): Maybe<T> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** All of `vs`, now when every one is a value, else as one promise (order kept). */
export function all<T>(vs: ReadonlyArray<Maybe<T>>): Maybe<T[]> {
  return vs.some(isPromise) ? Promise.all(vs) : ([...vs] as T[]);
}

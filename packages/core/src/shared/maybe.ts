/**
 * A value now or later, for hot paths whose answer is usually at hand (a cache hit): answering
 * synchronously spares a promise and a microtask per call (e.g. a message's channel rights).
 */
export type Maybe<T> = T | Promise<T>;

/** Continue with `f` now when `v` is a value, or after it resolves. */
export function thenMaybe<T, R>(v: Maybe<T>, f: (t: T) => Maybe<R>): Maybe<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}

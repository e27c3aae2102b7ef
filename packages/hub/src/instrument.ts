import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { BulwarkError } from '@bulwark/protocol';

/** What an instrumented call reports; metrics and tracing subscribe here later. */
export interface CallObserver {
  (event: { service: string; method: string; ms: number; error?: unknown }): void;
}

/**
 * Wraps every method of a service so each call is timed and reported, without touching the
 * service: the one place logging (and later metrics and tracing) attach to core from outside.
 * Expected domain errors (a BulwarkError that is not internal) are reported at debug level;
 * anything else is a warning with the error attached.
 */
export function instrument<T extends object>(service: string, target: T, observe: CallObserver): T {
  // One wrapper per method, made on first use: a method is looked up for every message.
  const wrappers = new Map<string, { fn: unknown; wrapped: unknown }>();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const cached = wrappers.get(prop);
      if (cached !== undefined && cached.fn === value) return cached.wrapped;
      const fn = value as (...args: unknown[]) => unknown;
      // Made once per method, not per call: the ingest path calls several per message.
      const done = (t0: number, error?: unknown): void =>
        observe(
          error === undefined
            ? { service, method: prop, ms: performance.now() - t0 }
            : { service, method: prop, ms: performance.now() - t0, error },
        );
      const wrapped = function instrumented(...args: unknown[]): unknown {
        const t0 = performance.now();
        let result: unknown;
        try {
          result = fn.apply(obj, args);
        } catch (err) {
          done(t0, err);
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v: unknown) => {
              done(t0);
              return v;
            },
            (err: unknown) => {
              done(t0, err);
              throw err;
            },
          );
        }
        done(t0);
        return result;
      };
      wrappers.set(prop, { fn: value, wrapped });
      return wrapped;
    },
  });
}

/** An observer that logs calls to a pino logger. */
export function logCalls(log: Logger): CallObserver {
  return ({ service, method, ms, error }) => {
    const took = Math.round(ms * 100) / 100;
    if (error === undefined) log.trace({ service, method, ms: took }, 'call');
    else if (error instanceof BulwarkError && error.kind !== 'internal') {
      log.debug({ service, method, ms: took, code: error.code }, 'call refused');
    } else log.warn({ service, method, ms: took, err: error }, 'call failed');
  };
}

/** Instruments every service of a record of services. */
export function instrumentAll<S extends { [K in keyof S]: object }>(
  services: S,
  observe: CallObserver,
): S {
  return Object.fromEntries(
    Object.entries(services as Record<string, object>).map(([k, v]) => [
      k,
      instrument(k, v, observe),
    ]),
  ) as S;
}

/**
 * The hub's side of central device logs (decision 0032) that core cannot do: the V8 flag that
 * makes regular-expression log search linear-time, and the per-node retention timer.
 */
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import type { DeviceLogService } from '@bulwark/core';

/** Retention is in days and rows; a minute's lag on either is immaterial. */
export const DEVICE_LOG_PRUNE_MS = 60_000;

/**
 * Turns on V8's linear-time regular-expression engine, so `new RegExp(p, 'l')` (core's log
 * search) can run any pattern it accepts without catastrophic backtracking. It adds the `l` flag
 * only; patterns without it run as before. Idempotent.
 */
export function enableLinearRegex(): void {
  setFlagsFromString('--enable-experimental-regexp-engine');
}

/** Prunes device logs now and every `intervalMs`; returns the stop function. */
export function startDeviceLogPruner(d: {
  logs: Pick<DeviceLogService, 'prune' | 'close'>;
  log: Logger;
  intervalMs?: number;
}): () => void {
  let running: Promise<void> | null = null;
  const pass = () => {
    running ??= d.logs
      .prune()
      .then(
        (r) => {
          if (r.expired + r.trimmed > 0) d.log.info(r, 'device logs pruned');
        },
        (err: unknown) => d.log.warn({ err }, 'device log prune failed'),
      )
      .finally(() => {
        running = null;
      });
  };
  pass();
  const timer = setInterval(pass, d.intervalMs ?? DEVICE_LOG_PRUNE_MS).unref();
  return () => {
    clearInterval(timer);
    d.logs.close();
  };
}

/**
 * The hub's side of the health history (decision 0038 third amendment of 2026-12-07): the node's
 * retention timer, the log line for a batch that could not be written, and the last flush at stop.
 */
import type { Logger } from 'pino';
import type { MetricsHistoryService } from '@bulwark/core';

/** Retention is in days: an hour's lag is immaterial, and a pass walks every device. */
export const METRICS_HISTORY_PRUNE_MS = 3_600_000;

/** Prunes the history now and every `intervalMs`; returns the stop function (flushes). */
export function startMetricsHistory(d: {
  history: MetricsHistoryService;
  log: Logger;
  intervalMs?: number;
}): () => Promise<void> {
  d.history.onWriteError((err) => d.log.warn({ err }, 'metrics history batch not stored'));
  let running: Promise<void> | null = null;
  const pass = () => {
    running ??= d.history
      .prune()
      .then(
        (n) => {
          if (n > 0) d.log.info({ deleted: n }, 'metrics history pruned');
        },
        (err: unknown) => d.log.warn({ err }, 'metrics history prune failed'),
      )
      .finally(() => {
        running = null;
      });
  };
  pass();
  const timer = setInterval(pass, d.intervalMs ?? METRICS_HISTORY_PRUNE_MS).unref();
  return async () => {
    clearInterval(timer);
    await running;
    await d.history.flush();
  };
}

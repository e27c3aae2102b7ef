/**
 * Runs the fleet audit checks on the hub's schedule (decision 0031): every node looks each
 * minute whether a pass is due; the one that takes the pass lease runs it for every organization.
 */
import type { Logger } from 'pino';
import type { AuditCheckService } from '@bulwark/core';

/** A running schedule. */
export interface ChecksRunner {
  /** Runs a pass now if one is due and this node gets the lease (tests call it). */
  tick(): Promise<{ orgs: number } | undefined>;
  stop(): Promise<void>;
}

/** How often a node looks whether a pass is due: the interval is in hours, a minute is close. */
const LOOK_MS = 60_000;

/** Starts the schedule; the first look is a minute after start (start-up has enough to do). */
export function startChecksRunner(d: {
  checks: AuditCheckService;
  log: Logger;
  lookMs?: number;
}): ChecksRunner {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // One pass at a time on this node: a long pass delays the next look instead of overlapping it.
  const tick = () => {
    const next = running.then(async () => {
      const r = await d.checks.runPass((err, orgId) =>
        d.log.warn({ err, orgId }, 'audit checks of an organization failed'),
      );
      if (r) d.log.info({ orgs: r.orgs }, 'audit checks pass done');
      return r;
    });
    running = next.catch(() => undefined);
    return next;
  };
  const look = () => {
    if (!stopped) tick().catch((err: unknown) => d.log.warn({ err }, 'audit checks pass failed'));
  };
  const timer = setInterval(look, d.lookMs ?? LOOK_MS);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

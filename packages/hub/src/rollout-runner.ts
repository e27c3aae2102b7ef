/**
 * Drives rollouts and the auto-upgrade policy (decision 0011): a timer steps every running
 * rollout and every awake auto-upgrade policy this node can lease, and every call-home firmware
 * report is checked against the policy of the device's type. Started and stopped with the hub.
 */
import type { Logger } from 'pino';
import type { FirmwarePolicyService, ManagementSignals, RolloutService } from '@bulwark/core';

/** A running runner. */
export interface RolloutRunner {
  /** Steps the rollouts once now (tests use it to avoid waiting for the timer). */
  tick(): Promise<{ stepped: number; started: number }>;
  stop(): Promise<void>;
}

/** Starts the rollout timer and the auto-upgrade listener. */
export function startRolloutRunner(d: {
  rollouts: RolloutService;
  firmwarePolicies: FirmwarePolicyService;
  signals: ManagementSignals;
  intervalMs: number;
  log: Logger;
}): RolloutRunner {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // One tick at a time: a slow tick delays the next instead of overlapping it.
  const tick = () => {
    const next = running.then(async () => {
      const r = await d.rollouts.tick(undefined, (err, r) =>
        d.log.warn({ err, rolloutId: r.id, orgId: r.orgId }, 'rollout step failed'),
      );
      // Auto-upgrade policies with devices held back by their gate, or jobs in flight.
      const p = await d.firmwarePolicies.tick(undefined, (err, p) =>
        d.log.warn({ err, type: p.deviceType, orgId: p.orgId }, 'auto-upgrade step failed'),
      );
      return { stepped: r.stepped + p.stepped, started: r.started + p.started };
    });
    running = next.catch(() => undefined);
    return next;
  };
  const timer = setInterval(() => {
    if (!stopped) tick().catch((err: unknown) => d.log.warn({ err }, 'rollout tick failed'));
  }, d.intervalMs);
  timer.unref();
  const pending = new Set<Promise<unknown>>();
  const unlisten = d.signals.listen({
    firmwareReported: ({ orgId, deviceId, firmware }) => {
      if (stopped) return;
      const p = d.firmwarePolicies
        .deviceReported(orgId, deviceId, firmware)
        .catch((err: unknown) => d.log.warn({ err, deviceId }, 'auto-upgrade failed'))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
  });
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      unlisten();
      await running;
      await Promise.all(pending);
      // No tick runs any more: hand this node's leases back so the restarted hub (or another
      // node) steps its rollouts now rather than after the 30 s lease expires (decision 0011).
      await Promise.all([d.rollouts.releaseLeases(), d.firmwarePolicies.releaseLeases()]).catch(
        (err: unknown) => d.log.warn({ err }, 'releasing rollout leases failed'),
      );
    },
  };
}

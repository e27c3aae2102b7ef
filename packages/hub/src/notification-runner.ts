/**
 * Routes alert events to the delivery queue and runs the delivery worker (decision 0030): a timer
 * ticks the worker, and a newly queued delivery pokes it at once. Started and stopped with the
 * hub; stopping frees this node's leases so another node (or the restarted hub) takes over.
 */
import type { Logger } from 'pino';
import {
  DeliveryWorker,
  SecretBox,
  startNotificationRouter,
  type Clock,
  type DomainEvents,
  type NotificationSender,
  type Storage,
  type TickResult,
} from '@bulwark/core';

/** A running notification runner. */
export interface NotificationRunner {
  /** Waits for routing to finish and runs the worker once now (tests). */
  tick(): Promise<TickResult>;
  stop(): Promise<void>;
}

/** Delivered and canceled rows are kept this long for the API, then pruned. */
const KEEP_SETTLED_MS = 7 * 86_400_000;

export function startNotificationRunner(d: {
  storage: Storage;
  events: DomainEvents;
  clock: Clock;
  masterKey: Buffer;
  nodeId: string;
  sender: NotificationSender;
  intervalMs: number;
  log: Logger;
  onAttempt?: (outcome: string) => void;
}): NotificationRunner {
  const worker = new DeliveryWorker({
    storage: d.storage,
    clock: d.clock,
    box: new SecretBox(d.masterKey),
    sender: d.sender,
    holder: d.nodeId,
    onAttempt: (r) => {
      d.onAttempt?.(r.outcome);
      // Ids and the error only: never the payload, the URL or a secret.
      if (r.outcome !== 'delivered')
        d.log.warn(
          { orgId: r.orgId, deliveryId: r.deliveryId, endpointId: r.endpointId, error: r.error },
          r.outcome === 'dead' ? 'notification dead-lettered' : 'notification attempt failed',
        );
    },
  });
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  // One tick at a time: a slow receiver delays the next tick instead of overlapping it.
  const tick = (): Promise<TickResult> => {
    const next = running.then(() => worker.tick());
    running = next.catch(() => undefined);
    return next;
  };
  const kick = () => {
    if (!stopped) tick().catch((err: unknown) => d.log.warn({ err }, 'notification tick failed'));
  };
  const router = startNotificationRouter({
    events: d.events,
    nodeId: d.nodeId,
    storage: d.storage,
    clock: d.clock,
    onQueued: kick,
    onError: (err) => d.log.warn({ err }, 'routing an alert to notifications failed'),
  });
  const timer = setInterval(kick, d.intervalMs);
  timer.unref();
  const prune = () =>
    void d.storage.notifications
      .pruneSettled(d.clock.now() - KEEP_SETTLED_MS)
      .catch((err: unknown) => d.log.warn({ err }, 'pruning deliveries failed'));
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return {
    async tick() {
      await router.idle();
      return tick();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(pruner);
      await router.stop();
      await running;
      await worker
        .release()
        .catch((err: unknown) => d.log.warn({ err }, 'releasing delivery leases failed'));
    },
  };
}

/**
 * Turns alert events into queued deliveries (decision 0030). It listens on the domain-events port
 * and handles only the events of its own node — in a cluster every node hears every event, and the
 * node that raised an alert queues its notifications once. It never runs on the path that raised
 * the alert: `emit` does not wait for listeners, and delivery itself is the worker's job.
 */
import type { AlertRecord } from '../ports/alerts.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { DeliveryRecord } from '../ports/notifications.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { alertPayload } from './payload.js';
import { locationPath, planDeliveries } from './routing.js';

/** A running router. */
export interface NotificationRouter {
  /** Resolves when the events heard so far are queued (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startNotificationRouter(d: {
  events: DomainEvents;
  /** This node's id: events of other nodes are theirs to route. */
  nodeId: string;
  storage: Pick<Storage, 'alerts' | 'notifications' | 'devices' | 'locations'>;
  clock: Clock;
  /** Called after deliveries were queued (the worker may run at once). */
  onQueued?: () => void;
  onError: (err: unknown) => void;
}): NotificationRouter {
  const pending = new Set<Promise<void>>();

  const route = async (
    orgId: string,
    alertId: string,
    event: 'alert.opened' | 'alert.resolved',
  ): Promise<void> => {
    const alert = await d.storage.alerts.get(orgId, alertId);
    if (!alert) return;
    const rules = await d.storage.notifications.listRules(orgId);
    if (rules.length === 0) return;
    const path = await pathOf(alert);
    const now = d.clock.now();
    const planned = planDeliveries(alert, event, rules, path, now);
    if (planned.length === 0) return;
    const live = new Set(
      (await d.storage.notifications.listEndpoints(orgId))
        .filter((e) => e.enabled)
        .map((e) => e.id),
    );
    const deliveries: DeliveryRecord[] = planned
      .filter((p) => live.has(p.endpointId))
      .map((p) => ({
        id: newId(now),
        orgId,
        endpointId: p.endpointId,
        alertId: alert.id,
        ruleId: p.ruleId,
        event: p.event,
        payload: alertPayload(p.event, alert, p.dueAt),
        state: 'pending',
        attempts: 0,
        nextAttemptAt: p.dueAt,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
      }));
    if (deliveries.length === 0) return;
    await d.storage.notifications.enqueue(deliveries);
    d.onQueued?.();
  };

  const pathOf = async (alert: AlertRecord): Promise<string[]> => {
    if (alert.deviceId === null) return [];
    const device = await d.storage.devices.get(alert.orgId, alert.deviceId);
    if (!device?.locationId) return [];
    const all = await d.storage.locations.list(alert.orgId);
    return locationPath(device.locationId, new Map(all.map((l) => [l.id, l.parentId])));
  };

  const stop = d.events.listen((e) => {
    if (e.type !== 'alert.opened' && e.type !== 'alert.resolved') return;
    if (e.origin !== undefined && e.origin !== d.nodeId) return;
    const p = route(e.orgId, e.alertId, e.type)
      .catch(d.onError)
      .finally(() => pending.delete(p));
    pending.add(p);
  });

  return {
    async idle() {
      while (pending.size > 0) await Promise.all(pending);
    },
    async stop() {
      stop();
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}

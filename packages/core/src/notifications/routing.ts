/**
 * Which endpoints hear of an alert (decision 0030), pure: a rule matches an alert by severity
 * (at least its minimum), kind (one of its kinds, or any) and location — a rule on a location
 * applies to devices there and in every location below it; a rule without one to the whole
 * organization, including alerts about no device.
 */
import { severityAtLeast } from '../alerts/kinds.js';
import type { AlertRecord } from '../ports/alerts.js';
import type { DeliveryEvent, NotificationRuleRecord } from '../ports/notifications.js';

/** One delivery to plan: an endpoint, the rule that asked for it, and when it is due. */
export interface PlannedDelivery {
  endpointId: string;
  ruleId: string;
  event: DeliveryEvent;
  dueAt: number;
}

/**
 * Does `rule` match `alert`? `locationPath` is the alert's device's location and all its
 * ancestors (empty for a device without a location, or no device).
 */
export function ruleMatches(
  rule: NotificationRuleRecord,
  alert: Pick<AlertRecord, 'kind' | 'severity'>,
  locationPath: readonly string[],
): boolean {
  if (!rule.enabled) return false;
  if (!severityAtLeast(alert.severity, rule.minSeverity)) return false;
  if (rule.kinds.length > 0 && !rule.kinds.includes(alert.kind)) return false;
  return rule.locationId === null || locationPath.includes(rule.locationId);
}

/** A location and its ancestors, nearest first (`parents`: id → parent id). */
export function locationPath(
  locationId: string | null,
  parents: ReadonlyMap<string, string | null>,
): string[] {
  const out: string[] = [];
  // The tree is four levels deep; the bound only guards against a corrupt cycle.
  for (let id = locationId; id !== null && out.length < 16 && !out.includes(id);) {
    out.push(id);
    id = parents.get(id) ?? null;
  }
  return out;
}

/**
 * The deliveries an alert event asks for: when it opens, each matching rule's endpoints now and
 * its escalation endpoints after `afterMinutes` (sent only if still unacknowledged then); when it
 * resolves, the endpoints of matching rules that want resolutions. One delivery per endpoint and
 * event, however many rules name it (an escalation keeps the earliest time).
 */
export function planDeliveries(
  alert: Pick<AlertRecord, 'kind' | 'severity' | 'openedAt'>,
  event: 'alert.opened' | 'alert.resolved',
  rules: readonly NotificationRuleRecord[],
  path: readonly string[],
  now: number,
): PlannedDelivery[] {
  const out = new Map<string, PlannedDelivery>();
  const add = (p: PlannedDelivery) => {
    const key = `${p.event}:${p.endpointId}`;
    const had = out.get(key);
    if (had === undefined || p.dueAt < had.dueAt) out.set(key, p);
  };
  for (const rule of rules) {
    if (!ruleMatches(rule, alert, path)) continue;
    if (event === 'alert.resolved') {
      if (rule.notifyResolved)
        for (const endpointId of rule.endpointIds)
          add({ endpointId, ruleId: rule.id, event, dueAt: now });
      continue;
    }
    for (const endpointId of rule.endpointIds)
      add({ endpointId, ruleId: rule.id, event, dueAt: now });
    if (rule.escalation)
      for (const endpointId of rule.escalation.endpointIds)
        add({
          endpointId,
          ruleId: rule.id,
          event: 'alert.escalated',
          dueAt: alert.openedAt + rule.escalation.afterMinutes * 60_000,
        });
  }
  return [...out.values()];
}

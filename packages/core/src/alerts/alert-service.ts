import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { AlertKind, AlertRecord } from '../ports/management.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';

/**
 * The one owner of alerts: every part that raises or ends one (presence, rollouts, edge
 * monitoring) goes through here, so each opening and resolution is a domain event that
 * notifications, webhooks and the console's live views follow. One alert of a kind is open per
 * device at a time (the store enforces it across nodes).
 */
export class AlertService {
  constructor(
    private readonly d: { storage: Pick<Storage, 'alerts'>; clock: Clock; events?: DomainEvents },
  ) {}

  /** Opens an alert unless one of that kind is open for the device; returns it when opened. */
  async open(
    orgId: string,
    deviceId: string,
    kind: AlertKind,
    detail: AlertRecord['detail'],
  ): Promise<AlertRecord | undefined> {
    const now = this.d.clock.now();
    const alert: AlertRecord = {
      id: newId(now),
      orgId,
      deviceId,
      kind,
      state: 'open',
      openedAt: now,
      resolvedAt: null,
      detail,
    };
    if (!(await this.d.storage.alerts.open(alert))) return undefined;
    this.d.events?.emit({
      type: 'alert.opened',
      orgId,
      at: now,
      alertId: alert.id,
      kind,
      deviceId,
    });
    return alert;
  }

  /** Resolves the device's open alert of that kind; returns how many were resolved. */
  async resolve(orgId: string, deviceId: string, kind: AlertKind): Promise<number> {
    const now = this.d.clock.now();
    const n = await this.d.storage.alerts.resolve(orgId, deviceId, kind, now);
    if (n > 0)
      this.d.events?.emit({
        type: 'alert.resolved',
        orgId,
        at: now,
        alertId: null,
        kind,
        deviceId,
      });
    return n;
  }

  /** The organization's alerts, newest first. */
  list(
    orgId: string,
    filter: { state?: 'open' | 'resolved'; deviceId?: string },
    page: PageRequest,
  ): Promise<Page<AlertRecord>> {
    return this.d.storage.alerts.list(orgId, filter, page);
  }
}

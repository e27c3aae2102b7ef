/**
 * Sends queued deliveries (decision 0030). Each tick leases the due deliveries of endpoints whose
 * breaker is not open (a lease per delivery, so in a cluster one node attempts each at a time),
 * sends them through the NotificationSender port, and settles each: delivered; retried later with
 * exponential backoff; dead-lettered after the last attempt; deferred while its alert is muted;
 * canceled when an escalation is no longer needed (the alert was acknowledged or resolved); held
 * back while a maintenance window covers its alert, then sent if the alert is still active and
 * dropped if it resolved meanwhile.
 * Failures count against the endpoint's circuit breaker; while it is open nothing is sent there,
 * and once its time is up one delivery probes the endpoint (half-open).
 */
import type { AlertRecord } from '../ports/alerts.js';
import type { Clock } from '../ports/clock.js';
import type {
  DeliveryRecord,
  DeliverySettle,
  MaintenanceWindowRecord,
  NotificationEndpointRecord,
  NotificationSender,
} from '../ports/notifications.js';
import type { Storage } from '../ports/storage.js';
import type { SecretBox } from '../shared/secret-box.js';
import { openEndpointSecrets } from './notification-service.js';
import { WINDOW_HOLD, coveringWindow, heldUntil } from './maintenance.js';
import { emailContent, webhookBody } from './payload.js';
import {
  DEFAULT_BREAKER_POLICY,
  DEFAULT_RETRY_POLICY,
  breakerOpenUntil,
  breakerState,
  retryDelay,
  type BreakerPolicy,
  type RetryPolicy,
} from './policy.js';
import { locationPath } from './routing.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.js';

/** What one tick did. */
export interface TickResult {
  delivered: number;
  retried: number;
  dead: number;
  deferred: number;
  canceled: number;
}

/** One attempt, for metrics and logs (never the payload or a secret). */
export interface AttemptReport {
  orgId: string;
  deliveryId: string;
  endpointId: string;
  outcome: 'delivered' | 'retried' | 'dead';
  error?: string;
}

export interface DeliveryWorkerDeps {
  storage: Pick<Storage, 'notifications' | 'alerts' | 'devices' | 'locations'>;
  clock: Clock;
  box: SecretBox;
  sender: NotificationSender;
  /** This worker's lease holder name (the node id). */
  holder: string;
  retry?: RetryPolicy;
  breaker?: BreakerPolicy;
  /** Deliveries leased per tick. */
  batch?: number;
  /** How long a lease lasts: longer than the slowest attempt (timeout) by a margin. */
  leaseMs?: number;
  /** Per request to a receiver. */
  timeoutMs?: number;
  random?: () => number;
  onAttempt?: (r: AttemptReport) => void;
}

const MAX_ERROR = 300;

/** An organization's running windows are read once per tick (a few at most). */
const WINDOWS_PER_ORG = 200;

export class DeliveryWorker {
  readonly #retry: RetryPolicy;
  readonly #breaker: BreakerPolicy;
  readonly #timeoutMs: number;
  /** This tick's running windows per organization. */
  #windows = new Map<string, Promise<MaintenanceWindowRecord[]>>();

  constructor(private readonly d: DeliveryWorkerDeps) {
    this.#retry = d.retry ?? DEFAULT_RETRY_POLICY;
    this.#breaker = d.breaker ?? DEFAULT_BREAKER_POLICY;
    this.#timeoutMs = d.timeoutMs ?? 10_000;
  }

  /** Leases and attempts the due deliveries once. */
  async tick(): Promise<TickResult> {
    const result: TickResult = { delivered: 0, retried: 0, dead: 0, deferred: 0, canceled: 0 };
    const now = this.d.clock.now();
    this.#windows = new Map();
    const leaseMs = this.d.leaseMs ?? this.#timeoutMs * 3;
    const claimed = await this.d.storage.notifications.claimDue(
      now,
      this.d.holder,
      now + leaseMs,
      this.d.batch ?? 50,
    );
    const byEndpoint = new Map<string, DeliveryRecord[]>();
    for (const c of claimed)
      byEndpoint.set(c.endpointId, [...(byEndpoint.get(c.endpointId) ?? []), c]);
    // Endpoints side by side; one endpoint's deliveries in order, so its breaker acts between them.
    await Promise.all([...byEndpoint.values()].map((list) => this.#endpointBatch(list, result)));
    return result;
  }

  /** Frees this worker's leases (a stopping node), so another node takes the deliveries at once. */
  release(): Promise<void> {
    return this.d.storage.notifications.release(this.d.holder);
  }

  async #endpointBatch(list: DeliveryRecord[], result: TickResult): Promise<void> {
    const first = list[0]!;
    let endpoint = await this.d.storage.notifications.getEndpoint(first.orgId, first.endpointId);
    for (let i = 0; i < list.length; i++) {
      const delivery = list[i]!;
      if (!endpoint) {
        await this.#settle(delivery, 'canceled', delivery.attempts, 'the endpoint is gone', result);
        continue;
      }
      const state = breakerState(endpoint, this.d.clock.now(), this.#breaker);
      // Open: wait (attempts uncounted). Half-open: only the first of the batch probes.
      if (state === 'open' || (state === 'half_open' && i > 0)) {
        await this.d.storage.notifications.release(
          this.d.holder,
          list.slice(i).map((x) => x.id),
        );
        result.deferred += list.length - i;
        return;
      }
      const ok = await this.#attempt(delivery, endpoint, result);
      if (ok === undefined) continue; // settled without sending (muted, canceled)
      endpoint =
        (await this.d.storage.notifications.getEndpoint(endpoint.orgId, endpoint.id)) ?? undefined;
    }
  }

  /** Returns whether it was sent, or undefined when it was settled without a send. */
  async #attempt(
    delivery: DeliveryRecord,
    endpoint: NotificationEndpointRecord,
    result: TickResult,
  ): Promise<boolean | undefined> {
    const now = this.d.clock.now();
    if (delivery.alertId !== null) {
      const alert = await this.d.storage.alerts.get(delivery.orgId, delivery.alertId);
      if (!alert) {
        await this.#settle(delivery, 'canceled', delivery.attempts, 'the alert is gone', result);
        return undefined;
      }
      if (delivery.event === 'alert.escalated' && alert.state !== 'open') {
        await this.#settle(
          delivery,
          'canceled',
          delivery.attempts,
          `the alert was ${alert.state}`,
          result,
        );
        return undefined;
      }
      if (alert.mutedUntil !== null && alert.mutedUntil > now) {
        if (delivery.event === 'alert.resolved') {
          await this.#settle(delivery, 'canceled', delivery.attempts, 'the alert is muted', result);
        } else {
          // Held back until the mute ends (then re-checked: an acknowledged alert won't escalate).
          await this.d.storage.notifications.settle(
            delivery.id,
            this.d.holder,
            {
              state: 'pending',
              attempts: delivery.attempts,
              nextAttemptAt: alert.mutedUntil,
              lastError: 'held back: the alert is muted',
              deliveredAt: null,
            },
            now,
          );
          result.deferred++;
        }
        return undefined;
      }
      if (await this.#heldByWindow(delivery, alert, now, result)) return undefined;
    }
    const attempts = delivery.attempts + 1;
    try {
      await this.#send(delivery, endpoint, now);
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR);
      const dead = attempts >= this.#retry.maxAttempts;
      await this.d.storage.notifications.settle(
        delivery.id,
        this.d.holder,
        {
          state: dead ? 'dead' : 'pending',
          attempts,
          nextAttemptAt: dead ? now : now + retryDelay(attempts, this.#retry, this.d.random),
          lastError: message,
          deliveredAt: null,
        },
        this.d.clock.now(),
      );
      const failures = await this.d.storage.notifications.endpointFailed(
        endpoint.orgId,
        endpoint.id,
        now,
      );
      const until = breakerOpenUntil(failures, this.d.clock.now(), this.#breaker);
      if (until !== null)
        await this.d.storage.notifications.openBreaker(endpoint.orgId, endpoint.id, until);
      if (dead) result.dead++;
      else result.retried++;
      this.#report(delivery, dead ? 'dead' : 'retried', message);
      return false;
    }
    await this.d.storage.notifications.settle(
      delivery.id,
      this.d.holder,
      {
        state: 'delivered',
        attempts,
        nextAttemptAt: now,
        lastError: null,
        deliveredAt: this.d.clock.now(),
      },
      this.d.clock.now(),
    );
    await this.d.storage.notifications.endpointSucceeded(endpoint.orgId, endpoint.id, now);
    result.delivered++;
    this.#report(delivery, 'delivered');
    return true;
  }

  /**
   * Holds a delivery back while a maintenance window covers its alert (a resolution is dropped at
   * once); once no window covers it, a held delivery of an alert that resolved meanwhile is
   * dropped. Returns whether the delivery was settled here.
   */
  async #heldByWindow(
    delivery: DeliveryRecord,
    alert: AlertRecord,
    now: number,
    result: TickResult,
  ): Promise<boolean> {
    const windows = await this.#windowsOf(alert.orgId, now);
    const path = windows.some((w) => w.locationId !== null) ? await this.#pathOf(alert) : [];
    const w = coveringWindow(windows, alert, path, now);
    if (w !== undefined) {
      if (delivery.event === 'alert.resolved') {
        await this.#settle(
          delivery,
          'canceled',
          delivery.attempts,
          `dropped: maintenance window ${w.id}`,
          result,
        );
        return true;
      }
      await this.d.storage.notifications.settle(
        delivery.id,
        this.d.holder,
        {
          state: 'pending',
          attempts: delivery.attempts,
          nextAttemptAt: heldUntil(w, now),
          lastError: `${WINDOW_HOLD} ${w.id} until ${new Date(w.endsAt).toISOString()}`,
          deliveredAt: null,
        },
        now,
      );
      result.deferred++;
      return true;
    }
    if (delivery.lastError?.startsWith(WINDOW_HOLD) === true && alert.state === 'resolved') {
      await this.#settle(
        delivery,
        'canceled',
        delivery.attempts,
        'dropped: the alert resolved during a maintenance window',
        result,
      );
      return true;
    }
    return false;
  }

  #windowsOf(orgId: string, now: number): Promise<MaintenanceWindowRecord[]> {
    let p = this.#windows.get(orgId);
    if (p === undefined) {
      p = this.d.storage.notifications
        .listWindows(orgId, { endsAfter: now }, WINDOWS_PER_ORG)
        .then((all) => all.filter((w) => w.startsAt <= now));
      this.#windows.set(orgId, p);
    }
    return p;
  }

  async #pathOf(alert: AlertRecord): Promise<string[]> {
    if (alert.deviceId === null) return [];
    const device = await this.d.storage.devices.get(alert.orgId, alert.deviceId);
    if (!device?.locationId) return [];
    const all = await this.d.storage.locations.list(alert.orgId);
    return locationPath(device.locationId, new Map(all.map((l) => [l.id, l.parentId])));
  }

  async #send(d: DeliveryRecord, e: NotificationEndpointRecord, now: number): Promise<void> {
    const secrets = openEndpointSecrets(this.d.box, e);
    if (e.settings.kind === 'webhook' && secrets.kind === 'webhook') {
      const body = webhookBody(d, e.settings.format);
      await this.d.sender.postWebhook({
        url: secrets.url,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Bulwark-Hub',
          [SIGNATURE_HEADER]: signWebhook(secrets.secret, body, Math.floor(now / 1000)),
          [DELIVERY_HEADER]: d.id,
          [EVENT_HEADER]: d.event,
        },
        caPem: e.settings.caPem,
        timeoutMs: this.#timeoutMs,
      });
      return;
    }
    if (e.settings.kind === 'email' && secrets.kind === 'email') {
      const { subject, text } = emailContent(d);
      await this.d.sender.sendEmail({
        smtp: {
          host: e.settings.host,
          port: e.settings.port,
          security: e.settings.security,
          username: e.settings.username,
          password: secrets.password,
          caPem: e.settings.caPem,
        },
        from: e.settings.from,
        to: e.settings.to,
        subject,
        text,
        timeoutMs: this.#timeoutMs,
      });
      return;
    }
    throw new Error('endpoint settings and secrets disagree');
  }

  async #settle(
    d: DeliveryRecord,
    state: DeliverySettle['state'],
    attempts: number,
    why: string,
    result: TickResult,
  ): Promise<void> {
    await this.d.storage.notifications.settle(
      d.id,
      this.d.holder,
      { state, attempts, nextAttemptAt: d.nextAttemptAt, lastError: why, deliveredAt: null },
      this.d.clock.now(),
    );
    if (state === 'canceled') result.canceled++;
  }

  #report(d: DeliveryRecord, outcome: AttemptReport['outcome'], error?: string): void {
    this.d.onAttempt?.({
      orgId: d.orgId,
      deliveryId: d.id,
      endpointId: d.endpointId,
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
  }
}

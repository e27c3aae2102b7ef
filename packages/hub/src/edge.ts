/**
 * The device edge's wiring on one hub node (core/src/edge): access changes from every node reach
 * this node's live sessions, revocations become events, take-overs are watched for cloned
 * credentials, and every authentication failure is counted. A sweep of the revocation tables is
 * the safety net for an event a node missed (a NATS outage): it applies what it finds locally.
 */
import type { Logger } from 'pino';
import {
  bridgePkiEvents,
  createAccessEnforcer,
  watchCredentialConflicts,
  type Clock,
  type DomainEvent,
  type LiveSessions,
  type Storage,
} from '@bulwark/core';
import type { HubMetrics } from './metrics.js';
import type { HubServices } from './services.js';

/** How often each node looks for revocations it may have missed ("within seconds"). */
const REVOCATION_SWEEP_MS = 2000;
/** How far back each sweep looks, for clock skew between nodes. */
const REVOCATION_SKEW_MS = 60_000;
const REVOCATION_PAGE = 1000;

/** The running edge wiring. */
export interface EdgeWiring {
  /** One revocation sweep now (the timer calls this; tests too). */
  sweep(): Promise<void>;
  stop(): void;
}

/** Starts access enforcement, the revocation safety net, conflict watching and failure counts. */
export function startEdge(d: {
  services: HubServices;
  storage: Storage;
  clock: Clock;
  nodeId: string;
  sessions: () => readonly LiveSessions[];
  log: Logger;
  metrics: HubMetrics;
}): EdgeWiring {
  const { services, log } = d;
  const enforcer = createAccessEnforcer({
    events: services.events,
    sessions: d.sessions,
    forgetRights: (_orgId, channelId, client) => services.messaging.forgetRights(channelId, client),
    onAction: (e, action, affected) => {
      if (affected > 0) log.info({ event: e.type, action, affected }, 'access change applied');
    },
    onError: (err, e) => log.warn({ err, event: e.type }, 'access change failed'),
  });
  const unbridge = bridgePkiEvents(services.pki, services.events, d.clock);
  const unwatch = watchCredentialConflicts({
    events: services.events,
    alerts: services.alerts,
    clock: d.clock,
    onError: (err) => log.warn({ err }, 'credential conflict alert failed'),
  });
  // Every refused credential, on every transport, counted once — by the node that refused it.
  const unlisten = services.events.listen((e) => {
    if (e.type !== 'auth.failed' || (e.origin !== undefined && e.origin !== d.nodeId)) return;
    d.metrics.authFailures.inc({ protocol: e.transport, reason: e.reason });
    log.info(
      { transport: e.transport, source: e.source, reason: e.reason },
      'authentication refused',
    );
  });

  // The safety net: revocations made anywhere, found in the store, applied here once each.
  const handled = new Map<string, number>();
  let since = d.clock.now() - REVOCATION_SKEW_MS;
  const handle = (id: string, at: number | null, e: DomainEvent) => {
    if (handled.has(id)) return;
    handled.set(id, at ?? d.clock.now());
    since = Math.max(since, at ?? since);
    enforcer.apply(e);
  };
  const unlistenRevocations = services.events.listen((e) => {
    // Remember what the events already delivered, so the sweep does not cut twice.
    if (e.type === 'certificate.revoked') handled.set(`cert:${e.serial}`, e.at);
    if (e.type === 'device_key.revoked') handled.set(`key:${e.keyId}`, e.at);
  });
  /** Pages through revocations after `from` (oldest first), handling each new one. */
  const drain = async <R extends { revokedAt: number | null }>(
    list: (since: number, limit: number) => Promise<R[]>,
    apply: (r: R) => void,
    from: number,
  ) => {
    for (let page = 0; page < 100; page++) {
      const rows = await list(from, REVOCATION_PAGE);
      for (const r of rows) apply(r);
      const last = rows.at(-1)?.revokedAt ?? null;
      if (rows.length < REVOCATION_PAGE || last === null || last <= from) return;
      from = last;
    }
  };
  const sweep = async () => {
    const from = since - REVOCATION_SKEW_MS;
    await drain(
      (t, n) => d.storage.pki.listRevokedSince(t, n),
      (c) =>
        handle(`cert:${c.serial}`, c.revokedAt, {
          type: 'certificate.revoked',
          orgId: c.orgId,
          at: c.revokedAt ?? d.clock.now(),
          deviceId: c.deviceId,
          serial: c.serial,
          reason: c.revocationReason,
        }),
      from,
    );
    await drain(
      (t, n) => d.storage.deviceKeys.listRevokedSince(t, n),
      (k) =>
        handle(`key:${k.id}`, k.revokedAt, {
          type: 'device_key.revoked',
          orgId: k.orgId,
          at: k.revokedAt ?? d.clock.now(),
          deviceId: k.deviceId,
          keyId: k.id,
        }),
      from,
    );
    for (const [id, at] of handled) if (at < from) handled.delete(id);
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.warn({ err }, 'revocation sweep failed'));
  }, REVOCATION_SWEEP_MS).unref();

  return {
    sweep,
    stop() {
      clearInterval(timer);
      enforcer.stop();
      unbridge();
      unwatch();
      unlisten();
      unlistenRevocations();
    },
  };
}

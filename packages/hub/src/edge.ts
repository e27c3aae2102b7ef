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
  createRevocationSweep,
  watchCredentialConflicts,
  type Clock,
  type LiveSessions,
  type Storage,
} from '@bulwark/core';
import type { HubMetrics } from './metrics.js';
import type { HubServices } from './services.js';

/** How often each node looks for revocations it may have missed ("within seconds"). */
const REVOCATION_SWEEP_MS = 2000;
/** How often each node reads the live source blocks (decision 0036) in case it missed an event. */
const BLOCK_SWEEP_MS = 5000;

/** The running edge wiring. */
export interface EdgeWiring {
  /** One revocation sweep now (the timer calls this; tests too). */
  sweep(): Promise<void>;
  /** One read of the live source blocks now (the timer calls this; tests too). */
  syncBlocks(): Promise<void>;
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

  // Source blocks (decision 0036, block_source): every node applies each block and release at
  // once from its event, and reads the stored live blocks at start and every few seconds.
  const blocks = services.edgeBlocks.list;
  const unblock = services.events.listen((e) => {
    if (e.type === 'edge.source_blocked') {
      blocks.add({
        id: e.mitigationId,
        orgId: e.orgId,
        source: e.source,
        until: e.until,
        hubWide: e.hubWide,
      });
      log.warn(
        { source: e.source, until: new Date(e.until).toISOString(), hubWide: e.hubWide },
        'source blocked by a mitigation',
      );
    } else if (e.type === 'edge.source_released') {
      blocks.remove(e.mitigationId);
      log.info({ source: e.source }, 'source block released');
    }
  });
  const syncBlocks = async () => {
    const startedAt = d.clock.now();
    blocks.sync(await services.mitigations.liveSourceBlocks(), startedAt);
  };
  const blockSync = () =>
    syncBlocks().catch((err: unknown) => log.warn({ err }, 'source block read failed'));
  void blockSync();
  const blockTimer = setInterval(() => void blockSync(), BLOCK_SWEEP_MS).unref();

  // The safety net for events this node missed (core/src/edge/revocation-sweep.ts).
  const revocations = createRevocationSweep({
    storage: d.storage,
    events: services.events,
    clock: d.clock,
    apply: (e) => {
      services.certificateCache.forget(e);
      enforcer.apply(e);
    },
  });
  const sweep = () => revocations.sweep();
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => log.warn({ err }, 'revocation sweep failed'));
  }, REVOCATION_SWEEP_MS).unref();

  return {
    sweep,
    syncBlocks,
    stop() {
      clearInterval(timer);
      clearInterval(blockTimer);
      unblock();
      enforcer.stop();
      unbridge();
      unwatch();
      unlisten();
      revocations.stop();
    },
  };
}

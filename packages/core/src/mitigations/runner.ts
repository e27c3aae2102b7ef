/**
 * Runs mitigation policies on alert events (decision 0036). It listens on the domain-events port
 * and answers only `alert.opened` and `alert.reopened` events its own node emitted: in a cluster
 * every node hears every event, and the node that raised the alert applies its policies — so each
 * alert is mitigated exactly once. It never runs on the path that raised the alert (`emit` does
 * not wait for listeners), and it starts at once, without a timer, so a device is contained
 * within the time of a few database writes after its alert.
 */
import type { DomainEvents } from '../ports/events.js';
import type { MitigationRecord } from '../ports/mitigations.js';
import type { MitigationService } from './mitigation-service.js';

/** A running policy runner. */
export interface MitigationRunner {
  /** Resolves when the events heard so far are handled (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startMitigationRunner(d: {
  events: DomainEvents;
  /** This node's id: events of other nodes are theirs to answer. */
  nodeId: string;
  mitigations: Pick<MitigationService, 'onAlert'>;
  /** Told of every action recorded (logs, metrics). */
  onRecorded?: (m: MitigationRecord) => void;
  onError: (err: unknown) => void;
}): MitigationRunner {
  const pending = new Set<Promise<void>>();
  const stop = d.events.listen((e) => {
    if (e.type !== 'alert.opened' && e.type !== 'alert.reopened') return;
    if (e.origin !== undefined && e.origin !== d.nodeId) return;
    // An alert about no device (a guesser naming unknown ids) may still have its source blocked.
    const p = d.mitigations
      .onAlert({
        id: e.alertId,
        orgId: e.orgId,
        kind: e.kind,
        severity: e.severity as Parameters<MitigationService['onAlert']>[0]['severity'],
        deviceId: e.deviceId,
      })
      .then((done) => {
        for (const m of done) d.onRecorded?.(m);
      })
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

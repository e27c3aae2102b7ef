/**
 * Typed domain events (DESIGN.md §4.1 "Events"): every security-relevant fact at the device edge
 * and every state change monitoring, webhooks, the audit trail and the console's live views care
 * about, on one port. In-process by default (`createMemoryEvents`); NATS JetStream in a cluster, so
 * an access change made on one node reaches the live sessions of every node.
 */

/** The ways into the hub an edge event can name. */
export type EdgeTransport = 'mqtt' | 'mqtt-ws' | 'http' | 'ddi' | 'coap' | 'local' | 'relay';

/** The kinds of credential the edge admits. */
export type CredentialKind =
  'certificate' | 'device_key' | 'psk' | 'rpk' | 'api_key' | 'password' | 'token';

/** Why admission refused a credential (see core/src/edge/admission.ts). */
export type RefusalReason =
  | 'malformed'
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'superseded'
  | 'quarantined'
  | 'decommissioned'
  | 'wrong_organization'
  | 'wrong_device'
  | 'locked'
  /** A `block_source` mitigation blocked the source address (decision 0036). */
  | 'blocked';

/** Who an event is about, as the edge knows them. */
export interface PrincipalRef {
  type: 'device' | 'api_key';
  id: string;
}

/**
 * Why a detection rule fired: the metric, the window, the band it was expected in and what was
 * observed, plus rule-specific facts (sources, ports, destinations …).
 */
export interface DetectEvidence {
  metric: string;
  windowSeconds: number;
  observed: number;
  /** The band; a side with no limit is null. */
  expected: { low: number | null; high: number | null };
  /** Where the band comes from. */
  basis: 'threshold' | 'device' | 'group' | 'known_set' | 'event';
  median?: number;
  mad?: number;
  samples?: number;
  [fact: string]: string | number | boolean | null | string[] | number[] | object | undefined;
}

/** Fields every event carries. */
interface Base {
  /** The organization, or null when it is not known (e.g. an unknown credential). */
  orgId: string | null;
  /** When it happened (epoch ms, the emitting node's clock). */
  at: number;
  /** The node that emitted it (set by the port). */
  origin?: string;
}

/** Every domain event. */
export type DomainEvent =
  | (Base & {
      type: 'device.connected';
      orgId: string;
      deviceId: string;
      sessionId: string;
      transport: EdgeTransport;
      source: string;
      /** The certificate serial it authenticated with, when it used one. */
      certSerial: string | null;
    })
  | (Base & {
      type: 'device.disconnected';
      orgId: string;
      deviceId: string;
      sessionId: string;
      transport: EdgeTransport;
      reason: string;
      /** The device said goodbye (clean DISCONNECT). */
      clean: boolean;
    })
  | (Base & {
      /** A connection of the same device replaced a live one (the old one was cut). */
      type: 'device.session_taken_over';
      orgId: string;
      deviceId: string;
      transport: EdgeTransport;
      previousSource: string;
      source: string;
    })
  | (Base & {
      type: 'auth.failed';
      transport: EdgeTransport;
      source: string;
      reason: RefusalReason | 'invalid_credentials' | 'totp_invalid';
      credential: CredentialKind;
      /** What the credential claimed to be (device id, key id, email hash …), when known. */
      subject: string | null;
    })
  | (Base & {
      type: 'authz.denied';
      orgId: string;
      principal: PrincipalRef;
      transport: EdgeTransport;
      action: 'publish' | 'subscribe' | 'observe' | 'ingest';
      /** The topic, filter or channel that was refused. */
      resource: string;
    })
  | (Base & {
      type: 'device.state_changed';
      orgId: string;
      deviceId: string;
      from: string;
      to: string;
    })
  | (Base & {
      type: 'certificate.issued' | 'certificate.renewed' | 'certificate.revoked';
      orgId: string;
      deviceId: string;
      serial: string;
      reason: string | null;
    })
  | (Base & { type: 'device_key.revoked'; orgId: string; deviceId: string; keyId: string })
  | (Base & {
      /** A device's DTLS pre-shared key was replaced or removed (decision 0041): its sessions end. */
      type: 'device_psk.revoked';
      orgId: string;
      deviceId: string;
      identity: string;
    })
  | (Base & {
      /** A device's pinned DTLS raw public key was replaced or removed (0041): its sessions end. */
      type: 'device_rpk.revoked';
      orgId: string;
      deviceId: string;
      fingerprint: string;
    })
  | (Base & { type: 'api_key.revoked'; orgId: string; keyId: string })
  | (Base & {
      /**
       * A channel's rights changed or the channel went: connections of `client` (or of everyone,
       * when null) must be authorized again.
       */
      type: 'channel.access_changed';
      orgId: string;
      channelId: string;
      client: PrincipalRef | null;
    })
  | (Base & {
      type: 'command.transition';
      orgId: string;
      deviceId: string;
      commandId: string;
      state: string;
    })
  | (Base & {
      type: 'update_job.transition';
      orgId: string;
      deviceId: string;
      jobId: string;
      state: string;
      /** The rollout that started the job, if one did. */
      rolloutId: string | null;
    })
  | (Base & {
      /** A rollout changed state (running, paused, canceled, completed). */
      type: 'rollout.transition';
      orgId: string;
      rolloutId: string;
      state: string;
    })
  | (Base & {
      /** A device reported events (stored): the live device page shows them (decision 0038). */
      type: 'device.events_reported';
      orgId: string;
      deviceId: string;
      count: number;
    })
  | (Base & {
      /** A batch of a device's log records was stored (decision 0032; live device page). */
      type: 'device.logs_stored';
      orgId: string;
      deviceId: string;
      count: number;
    })
  | (Base & {
      type: 'twin.desired_changed' | 'twin.reported_changed';
      orgId: string;
      deviceId: string;
      version: number;
    })
  | (Base & {
      /**
       * A detection rule fired (decision 0034): mitigations bind here. `deviceId` is the device
       * the alert went on (null when the subject names none, e.g. a source guessing unknown ids).
       */
      type: 'detect.fired';
      orgId: string | null;
      deviceId: string | null;
      ruleId: string;
      severity: 'low' | 'medium' | 'high' | 'critical';
      /** What was counted: `device:<org>:<id>` or `source:<address>|org:<org>`. */
      subject: string;
      evidence: DetectEvidence;
    })
  | (Base & {
      /** The rule's metric stayed back in band for its resolve delay; the alert was resolved. */
      type: 'detect.resolved';
      orgId: string | null;
      deviceId: string | null;
      ruleId: string;
      subject: string;
    })
  | (Base & {
      /**
       * An alert's lifecycle (decision 0030): opened (new), reopened (a new occurrence within the
       * cool-down after its resolution), acknowledged, resolved, changed (assigned or muted).
       */
      type:
        | 'alert.opened'
        | 'alert.reopened'
        | 'alert.acknowledged'
        | 'alert.resolved'
        | 'alert.changed';
      orgId: string;
      alertId: string;
      kind: string;
      severity: string;
      /** The device it is about, or null for a fleet-wide alert. */
      deviceId: string | null;
    })
  | (Base & {
      /** A rule on telemetry fired on a device's message (decision 0035), on the evaluating node. */
      type: 'rule.fired';
      orgId: string;
      ruleId: string;
      deviceId: string;
      channelId: string;
      record: string;
      value: number | string | boolean;
      /** The action types taken, in order. */
      actions: string[];
    })
  | (Base & {
      /**
       * A `block_source` mitigation locked an address at the edge (decision 0036): every node
       * refuses authentications from it — all of them when `hubWide`, else the organization's.
       */
      type: 'edge.source_blocked';
      orgId: string;
      mitigationId: string;
      source: string;
      until: number;
      hubWide: boolean;
    })
  | (Base & {
      /** The block a mitigation made was released (reverted) before it ended. */
      type: 'edge.source_released';
      orgId: string;
      mitigationId: string;
      source: string;
    })
  | (Base & {
      /** A rule was created, changed or deleted: every node reloads the organization's rules. */
      type: 'rule.changed';
      orgId: string;
      ruleId: string;
    });

/** The type names of DomainEvent. */
export type DomainEventType = DomainEvent['type'];

/** One event type, narrowed (also for members that share a shape across several types). */
export type DomainEventOf<T extends DomainEventType> = DomainEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;

/** Stops a subscription. */
export type StopListening = () => void;

/**
 * The events port. `emit` never throws and never waits for listeners: a failing listener or an
 * unreachable cluster link is reported by the adapter, never turned into a failed operation (the
 * durable state is already written when an event is emitted).
 */
export interface DomainEvents {
  emit(event: DomainEvent): void;
  /** Every event of this node and (in a cluster) of every other node, in emit order per node. */
  listen(listener: (event: DomainEvent) => void): StopListening;
  /** Resolves when events emitted so far have left this node (cluster adapters; tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

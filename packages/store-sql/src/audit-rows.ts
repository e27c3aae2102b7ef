import type { ActorType, AuditEvent, AuditHead } from '@bulwark/core';

/** A row of `audit_events`. */
export interface AuditRow {
  seq: number;
  id: string;
  org_id: string | null;
  at: number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  source: string | null;
  result: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/** An `audit_events` row as its event. */
export const toAuditEvent = (r: AuditRow): AuditEvent => ({
  seq: r.seq,
  id: r.id,
  orgId: r.org_id,
  at: r.at,
  actorType: r.actor_type as ActorType,
  actorId: r.actor_id,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  source: r.source,
  result: r.result as AuditEvent['result'],
  detail: r.detail,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** The single `audit_head` row: the chain's last seq and hash, where keying starts, the MAC. */
export interface AuditHeadRow {
  seq: number;
  hash: string;
  keyed_from: number;
  mac: string | null;
}

/** The `audit_head` row as the port's head, or undefined while the chain is empty. */
export const toAuditHead = (r: AuditHeadRow | undefined): AuditHead | undefined =>
  r && r.seq > 0 ? { seq: r.seq, hash: r.hash, keyedFrom: r.keyed_from, mac: r.mac } : undefined;

/**
 * An event's `audit_events` values in column order (seq, id, org_id, at, actor_type, actor_id,
 * action, target_type, target_id, source, result, detail, prev_hash, hash).
 */
export const auditEventValues = (e: AuditEvent): unknown[] => [
  e.seq,
  e.id,
  e.orgId,
  e.at,
  e.actorType,
  e.actorId,
  e.action,
  e.targetType,
  e.targetId,
  e.source,
  e.result,
  e.detail,
  e.prevHash,
  e.hash,
];

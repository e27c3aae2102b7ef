/**
 * How the audit chain is sealed (decision 0016). Each row's hash covers its content and the
 * previous row's hash. From `keyedFrom` on, the hash is an HMAC-SHA256 under a key derived from
 * the master key, so someone who can write the database but does not hold the master key cannot
 * recompute a consistent chain after editing a row; rows before `keyedFrom` were written by a hub
 * that predates keying and keep their plain SHA-256. The head (last seq, its hash, `keyedFrom`) is
 * MACed too, so rows cut from the end, or `keyedFrom` moved, do not go unnoticed.
 */
import { createHmac } from 'node:crypto';
import type { AuditEvent } from '../ports/records.js';
import type { AuditHead } from '../ports/storage.js';
import { canonicalJson, sha256Hex } from '../shared/hash.js';

/** The prevHash of the first row. */
export const AUDIT_GENESIS = '0'.repeat(64);

/** A row's hash before keying: SHA-256 over the canonical JSON of every column but `hash`. */
export function auditHash(row: Omit<AuditEvent, 'hash'>): string {
  return sha256Hex(canonicalJson(row));
}

/** A keyed row's hash: HMAC-SHA256 over the same canonical JSON. */
export function keyedAuditHash(key: Uint8Array, row: Omit<AuditEvent, 'hash'>): string {
  return createHmac('sha256', key).update(canonicalJson(row)).digest('hex');
}

/** The head's MAC: binds the last seq, its hash and where keying starts. */
export function auditHeadMac(key: Uint8Array, head: Omit<AuditHead, 'mac'>): string {
  return createHmac('sha256', key)
    .update(`bulwark audit head v1\n${head.seq}\n${head.hash}\n${head.keyedFrom}`)
    .digest('hex');
}

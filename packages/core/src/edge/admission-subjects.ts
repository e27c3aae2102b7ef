/**
 * What admission names of a credential it refuses or counts: the subject a credential claims (for
 * the failure throttle and `auth.failed` events; never the secret) and the refusal a certificate
 * check's error stands for.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { RefusalReason } from '../ports/events.js';
import { sha256Hex } from '../shared/hash.js';
import { parseApiKey } from '../identity/api-key-service.js';
import type { EdgeCredential } from './principal.js';

/** The subject a credential claims, for throttling and events (never the secret). */
export function subjectOf(c: EdgeCredential): string | null {
  switch (c.kind) {
    case 'certificate':
      return `org:${c.claimedOrgId}`;
    case 'device_key':
      return `device:${c.deviceId}`;
    case 'psk':
      return `psk:${c.identity}`;
    case 'rpk':
      return `rpk:${sha256Hex(c.spki)}`;
    case 'api_key':
      return `key:${parseApiKey(c.secret)?.id ?? 'malformed'}`;
  }
}

/** The refusal a BulwarkError from the certificate check stands for. */
export function certificateRefusal(err: unknown): RefusalReason {
  if (!(err instanceof BulwarkError)) return 'unknown';
  switch (err.code) {
    case 'certificate_revoked':
      return 'revoked';
    case 'certificate_expired':
      return 'expired';
    case 'certificate_superseded':
      return 'superseded';
    case 'device_decommissioned':
      return 'decommissioned';
    default:
      return 'unknown';
  }
}

import { BulwarkError, type CreateApiKeyRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { ApiKey } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { randomToken, safeEqual, sha256Hex } from '../shared/hash.js';
import { missingPermissions } from './permissions.js';
import type { Principal } from './principal.js';

/** `bwk_<id without dashes>_<secret>`: the id locates the record, the secret is checked by hash. */
export function formatApiKey(id: string, secret: string): string {
  return `bwk_${id.replace(/-/g, '')}_${secret}`;
}

/** Splits a presented API key into id and secret, or undefined when it is not one. */
export function parseApiKey(presented: string): { id: string; secret: string } | undefined {
  const m = /^bwk_([0-9a-f]{32})_([A-Za-z0-9_-]{20,100})$/.exec(presented);
  if (!m || !m[1] || !m[2]) return undefined;
  const h = m[1];
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return { id, secret: m[2] };
}

/**
 * The one check of a presented API key (REST bearer and the edge alike): the key it names, its
 * secret, revocation and expiry; records use at most once a minute (audits look for keys unused
 * for months). Throws api_key_invalid (unknown, malformed, expired — `extra.expired`) or
 * api_key_revoked.
 */
export async function verifyApiKey(
  d: { storage: Pick<Storage, 'apiKeys'>; clock: Clock },
  presented: string,
): Promise<ApiKey> {
  const parsed = parseApiKey(presented);
  const key = parsed ? await d.storage.apiKeys.get(parsed.id) : undefined;
  if (!parsed || !key || !safeEqual(key.secretHash, sha256Hex(parsed.secret)))
    throw new BulwarkError('api_key_invalid');
  const now = d.clock.now();
  if (key.revokedAt !== null) throw new BulwarkError('api_key_revoked');
  if (key.expiresAt !== null && key.expiresAt <= now)
    throw new BulwarkError('api_key_invalid', 'the API key has expired', {
      extra: { expired: true },
    });
  if (key.lastUsedAt === null || now - key.lastUsedAt > 60_000)
    await d.storage.apiKeys.touch(key.id, now);
  return key;
}

/** Scoped API keys: shown once, stored hashed, revocable, never wider than their creator. */
export class ApiKeyService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      /** Told about revocations: live MQTT/WebSocket sessions of the key are cut on every node. */
      events?: DomainEvents;
    },
  ) {}

  /** Lists the organization's keys, newest first. */
  list(orgId: string): Promise<ApiKey[]> {
    return this.d.storage.apiKeys.list(orgId);
  }

  /**
   * Creates a key with at most the creator's permissions (a local operator, `creator` null, may
   * grant any). Returns the record and the secret, which is not kept.
   */
  async create(
    orgId: string,
    creator: Principal | null,
    req: CreateApiKeyRequest,
  ): Promise<{ apiKey: ApiKey; key: string }> {
    if (creator) {
      const wider = missingPermissions(creator.permissions, req.permissions);
      if (wider.length > 0) {
        throw new BulwarkError(
          'forbidden',
          `a key cannot have permissions its creator lacks: ${wider.join(', ')}`,
        );
      }
    }
    const now = this.d.clock.now();
    const id = newId(now);
    const secret = randomToken(32);
    const apiKey: ApiKey = {
      id,
      orgId,
      name: req.name,
      secretHash: sha256Hex(secret),
      permissions: [...new Set(req.permissions)],
      createdBy: creator?.kind === 'user' ? creator.id : null,
      createdAt: now,
      expiresAt: req.expiresInDays ? now + req.expiresInDays * 86_400_000 : null,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.d.storage.apiKeys.create(apiKey);
    return { apiKey, key: formatApiKey(id, secret) };
  }

  /** Revokes a key of this organization at once. */
  async revoke(orgId: string, id: string): Promise<void> {
    const at = this.d.clock.now();
    if (!(await this.d.storage.apiKeys.revoke(orgId, id, at))) {
      throw new BulwarkError('not_found', 'no such live API key in this organization');
    }
    this.d.events?.emit({ type: 'api_key.revoked', orgId, at, keyId: id });
  }
}

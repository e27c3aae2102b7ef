import type { Key, Metadata, Root, Targets } from '@tufjs/models';
import { refuse, type Refusal } from './refusal.js';

/** A role's trusted keys and how many of them must sign. */
export interface RoleKeys {
  readonly keys: Readonly<Record<string, Key>>;
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

/** The keys and threshold of `role` in a root document. */
export function roleKeys(root: Root, role: string): RoleKeys {
  const r = root.roles[role];
  return { keys: root.keys, keyIds: r?.keyIDs ?? [], threshold: r?.threshold ?? Infinity };
}

/**
 * Counts the valid signatures of `role`'s keys on `meta` and says precisely why it falls short.
 * Each key counts once (TUF §5.4: a threshold of *distinct* keys); a signature by a key the role
 * does not list never counts, and a signature that does not verify is reported as bad even when the
 * others would have met the threshold, so a tampered document is named as tampered.
 */
export function checkThreshold(
  meta: Metadata<Root | Targets>,
  role: RoleKeys,
  what: string,
): { ok: true; signedBy: string[] } | Refusal {
  const valid: string[] = [];
  const unknown: string[] = [];
  const bad: string[] = [];
  for (const keyId of Object.keys(meta.signatures)) {
    const key = role.keyIds.includes(keyId) ? role.keys[keyId] : undefined;
    if (key === undefined) {
      unknown.push(keyId);
      continue;
    }
    try {
      key.verifySignature(meta);
      valid.push(keyId);
    } catch {
      bad.push(keyId);
    }
  }
  if (bad.length > 0) {
    return refuse(
      'bad_signature',
      `${what}: the signature of key ${short(bad)} does not verify (content altered or wrong key)`,
    );
  }
  if (valid.length >= role.threshold) return { ok: true, signedBy: valid };
  if (valid.length === 0 && unknown.length > 0) {
    return refuse(
      'unknown_key',
      `${what}: signed only by key ${short(unknown)}, which is not trusted`,
    );
  }
  return refuse(
    'threshold_not_met',
    `${what}: ${valid.length} of the required ${role.threshold} trusted signatures` +
      (unknown.length > 0 ? ` (ignored untrusted key ${short(unknown)})` : ''),
  );
}

function short(ids: string[]): string {
  return ids.map((id) => id.slice(0, 12)).join(', ');
}

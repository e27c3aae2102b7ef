/**
 * Access checks (decision 0031): API keys with administrative or every permission, unused or
 * never expiring; devices allowed to publish on too many channels; decommissioned devices that
 * still hold channel rights; users without a second factor; organizations with one owner.
 */
import { PERMISSIONS } from '@bulwark/protocol';
import type { ApiKey } from '../ports/records.js';
import type { OrgSnapshot } from './snapshot.js';
import { DAY_MS, day, deviceName, type AuditCheckConfig, type FindingDraft } from './types.js';

/** Permissions that administer the organization itself rather than its devices. */
const ADMIN_PERMISSIONS = ['org:manage', 'users:manage', 'api-keys:manage'] as const;

const liveKey = (k: ApiKey, now: number) =>
  k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now);
const keyName = (k: ApiKey) => `"${k.name}" (${k.id})`;

/** Live API keys holding every permission, or administrative ones. */
export function adminApiKeys(s: OrgSnapshot, now: number): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const k of s.apiKeys) {
    if (!liveKey(k, now)) continue;
    const all = PERMISSIONS.every((p) => k.permissions.includes(p));
    const admin = ADMIN_PERMISSIONS.filter((p) => k.permissions.includes(p));
    if (!all && admin.length === 0) continue;
    out.push({
      checkId: 'api_key.admin',
      key: `api_key:${k.id}`,
      severity: all ? 'high' : 'medium',
      message: all
        ? `API key ${keyName(k)} holds every permission: an application key should hold only what the application uses`
        : `API key ${keyName(k)} holds administrative permissions (${admin.join(', ')}): an application key rarely needs them`,
      resources: [{ type: 'api_key', id: k.id }],
    });
  }
  return out;
}

/** Live API keys unused (or, never used, created) longer ago than the threshold. */
export function unusedApiKeys(s: OrgSnapshot, now: number, cfg: AuditCheckConfig): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const k of s.apiKeys) {
    if (!liveKey(k, now)) continue;
    const since = k.lastUsedAt ?? k.createdAt;
    if (now - since <= cfg.apiKeyUnusedDays * DAY_MS) continue;
    out.push({
      checkId: 'api_key.unused',
      key: `api_key:${k.id}`,
      severity: 'medium',
      message:
        k.lastUsedAt === null
          ? `API key ${keyName(k)} has never been used since it was created on ${day(k.createdAt)}; revoke it if nothing needs it`
          : `API key ${keyName(k)} was last used on ${day(k.lastUsedAt)}, more than ${cfg.apiKeyUnusedDays} days ago; revoke it if nothing needs it`,
      resources: [{ type: 'api_key', id: k.id }],
    });
  }
  return out;
}

/** Live API keys without an expiry. */
export function neverExpiringApiKeys(s: OrgSnapshot, now: number): FindingDraft[] {
  return s.apiKeys
    .filter((k) => liveKey(k, now) && k.expiresAt === null)
    .map((k) => ({
      checkId: 'api_key.no_expiry' as const,
      key: `api_key:${k.id}`,
      severity: 'low' as const,
      message: `API key ${keyName(k)} never expires: a leaked copy works until someone notices; give keys an expiry and rotate them`,
      resources: [{ type: 'api_key', id: k.id }],
    }));
}

/** Devices (not decommissioned) allowed to publish on more channels than the policy. */
export function broadPublishers(s: OrgSnapshot, cfg: AuditCheckConfig): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state === 'decommissioned') continue;
    const pub = (s.connections.get(`device:${d.id}`) ?? []).filter((c) => c.publish);
    if (pub.length <= cfg.maxPublishChannels) continue;
    out.push({
      checkId: 'device.publish_channels',
      key: `device:${d.id}`,
      severity: 'medium',
      message: `Device ${deviceName(d)} may publish on ${pub.length} channels, more than the policy's ${cfg.maxPublishChannels}: a compromised device could feed them all`,
      resources: [
        { type: 'device', id: d.id },
        ...pub.map((c) => ({ type: 'channel', id: c.channelId })),
      ],
    });
  }
  return out;
}

/** Decommissioned devices still connected to channels. */
export function decommissionedWithRights(s: OrgSnapshot): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const d of s.devices) {
    if (d.state !== 'decommissioned') continue;
    const conns = s.connections.get(`device:${d.id}`) ?? [];
    if (conns.length === 0) continue;
    out.push({
      checkId: 'device.decommissioned_rights',
      key: `device:${d.id}`,
      severity: 'high',
      message: `Decommissioned device ${deviceName(d)} still holds rights on ${conns.length} channel(s) (${conns.map((c) => c.channelId).join(', ')}); disconnect it`,
      resources: [
        { type: 'device', id: d.id },
        ...conns.map((c) => ({ type: 'channel', id: c.channelId })),
      ],
    });
  }
  return out;
}

/** Members without TOTP: high for owners and admins, who can change everything. */
export function usersWithoutSecondFactor(s: OrgSnapshot): FindingDraft[] {
  return s.members
    .filter(({ user }) => !user.totpEnabled)
    .map(({ membership, user }) => {
      const powerful = membership.role === 'owner' || membership.role === 'admin';
      return {
        checkId: 'user.no_second_factor' as const,
        key: `user:${user.id}`,
        severity: powerful ? ('high' as const) : ('medium' as const),
        message: `User ${user.email} (${membership.role}) has no second factor: a guessed or phished password is enough to log in; set up TOTP`,
        resources: [{ type: 'user', id: user.id }],
      };
    });
}

/**
 * An organization whose single owner is its only administrator. Bulwark keeps one owner per
 * organization (ownership is handed over, never shared: decision 0013), so "one owner" alone
 * would be every organization; the risk is that no second account can manage members and keys
 * when the owner's is lost or locked. An admin beside the owner resolves it.
 */
export function singleOwner(s: OrgSnapshot): FindingDraft[] {
  const owners = s.members.filter((m) => m.membership.role === 'owner');
  const admins = s.members.filter((m) => m.membership.role === 'admin');
  if (owners.length !== 1 || admins.length > 0) return [];
  const only = owners[0]!;
  return [
    {
      checkId: 'organization.single_owner',
      key: `organization:${s.orgId}`,
      severity: 'medium',
      message: `The organization's single owner (${only.user.email}) is its only administrator: if that account is lost or locked, nobody can manage members, keys or ownership; make a second trusted member an admin`,
      resources: [
        { type: 'organization', id: s.orgId },
        { type: 'user', id: only.user.id },
      ],
    },
  ];
}

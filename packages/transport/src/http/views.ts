/** Records → API views: timestamps become RFC 3339 strings; secrets and internals are dropped. */
import type {
  ApiKey,
  AuditEvent,
  CertificateRecord,
  Device,
  DeviceKey,
  Location,
  Member,
  Organization,
  Enrollment,
  ScopedGrant,
} from '@bulwark/core';
import type {
  ApiKeyView,
  ScopedGrantView,
  AuditEventView,
  CertificateView,
  DeviceView,
  IssuedCertificateView,
  LocationView,
  OrganizationView,
  UserView,
} from '@bulwark/protocol';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export const orgView = (o: Organization): OrganizationView => ({
  id: o.id,
  name: o.name,
  createdAt: iso(o.createdAt),
});

/** A scoped grant as the API shows it (decision 0046). */
export const scopedGrantView = (g: ScopedGrant): ScopedGrantView => ({
  id: g.id,
  permissions: g.permissions,
  locationId: g.locationId,
  tag: g.tag,
  grantedBy: g.grantedBy,
  createdAt: iso(g.createdAt),
});

export const userView = ({ user, membership }: Member): UserView => ({
  id: user.id,
  email: user.email,
  name: user.name,
  role: membership.role,
  grants: membership.grants,
  scopedGrants: (membership.scopedGrants ?? []).map(scopedGrantView),
  totpEnabled: user.totpEnabled,
  createdAt: iso(user.createdAt),
});

export const apiKeyView = (k: ApiKey): ApiKeyView => ({
  id: k.id,
  name: k.name,
  permissions: k.permissions,
  createdAt: iso(k.createdAt),
  expiresAt: isoOrNull(k.expiresAt),
  lastUsedAt: isoOrNull(k.lastUsedAt),
  revokedAt: isoOrNull(k.revokedAt),
});

export const deviceView = (d: Device): DeviceView => ({
  id: d.id,
  name: d.name,
  type: d.type,
  firmwareType: d.firmwareType,
  firmwareVersion: d.firmwareVersion,
  tags: d.tags,
  mode: d.mode,
  state: d.state,
  locationId: d.locationId,
  lastSeenAt: isoOrNull(d.lastSeenAt),
  createdAt: iso(d.createdAt),
  updatedAt: iso(d.updatedAt),
});

export const locationView = (l: Location): LocationView => ({
  id: l.id,
  parentId: l.parentId,
  kind: l.kind,
  name: l.name,
  createdAt: iso(l.createdAt),
});

export const certificateView = (c: CertificateRecord): CertificateView => ({
  serial: c.serial,
  deviceId: c.deviceId,
  fingerprint: c.fingerprint,
  notBefore: iso(c.notBefore),
  notAfter: iso(c.notAfter),
  createdAt: iso(c.createdAt),
  revokedAt: isoOrNull(c.revokedAt),
  revocationReason: c.revocationReason,
  renewedFrom: c.renewedFrom,
  supersededBy: c.supersededBy,
  retireAt: isoOrNull(c.retireAt),
  certificate: c.certPem,
});

export const deviceKeyView = (k: DeviceKey) => ({
  id: k.id,
  createdAt: iso(k.createdAt),
  revokedAt: isoOrNull(k.revokedAt),
});

export const enrollmentView = (e: Enrollment): IssuedCertificateView => ({
  deviceId: e.device.id,
  organizationId: e.device.orgId,
  serial: e.cert.serial,
  certificate: e.cert.certPem,
  chain: e.chain,
  hubCa: e.hubCa,
  notAfter: iso(e.cert.notAfter),
});

export const auditView = (e: AuditEvent): AuditEventView => ({
  seq: e.seq,
  id: e.id,
  at: iso(e.at),
  actorType: e.actorType,
  actorId: e.actorId,
  action: e.action,
  targetType: e.targetType,
  targetId: e.targetId,
  source: e.source,
  result: e.result,
  detail: e.detail === null ? null : (JSON.parse(e.detail) as Record<string, unknown>),
  hash: e.hash,
});

export { iso };

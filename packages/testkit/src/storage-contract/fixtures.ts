import { randomBytes } from 'node:crypto';
import {
  newId,
  type ApiKey,
  type AuditDraft,
  type CertificateRecord,
  type Channel,
  type ChannelConnection,
  type Device,
  type DeviceKey,
  type EnrollmentToken,
  type Envelope,
  type Location,
  type Membership,
  type Organization,
  type RefreshSession,
  type Storage,
  type User,
} from '@bulwark/core';

/** A fixed instant all fixtures are relative to (2025-01-01T00:00:00Z). */
export const T0 = 1_735_689_600_000;
const DAY = 86_400_000;

let counter = 0;
const next = (): number => ++counter;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A new organization record. */
export const orgFx = (over: Partial<Organization> = {}): Organization => ({
  id: newId(),
  name: `Org ${next()}`,
  createdAt: T0,
  ...over,
});

/** A new user record with a unique email. */
export const userFx = (over: Partial<User> = {}): User => {
  const n = next();
  return {
    id: newId(),
    email: `user-${n}-${hex(4)}@example.com`,
    name: `User ${n}`,
    passwordHash: `$scrypt$ln=15,r=8,p=1$${hex(8)}$${hex(16)}`,
    totpSecretSealed: null,
    totpEnabled: false,
    failedLogins: 0,
    lockedUntil: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
};

/** A membership of `userId` in `orgId`. */
export const membershipFx = (
  orgId: string,
  userId: string,
  over: Partial<Membership> = {},
): Membership => ({
  orgId,
  userId,
  role: 'viewer',
  grants: [],
  scopedGrants: [],
  createdAt: T0,
  ...over,
});

/** A live refresh session. */
export const sessionFx = (
  orgId: string,
  userId: string,
  over: Partial<RefreshSession> = {},
): RefreshSession => ({
  id: newId(),
  userId,
  orgId,
  tokenHash: hex(32),
  createdAt: T0,
  expiresAt: T0 + 30 * DAY,
  revokedAt: null,
  replacedBy: null,
  ...over,
});

/** A live API key. */
export const apiKeyFx = (orgId: string, over: Partial<ApiKey> = {}): ApiKey => ({
  id: newId(),
  orgId,
  name: `key ${next()}`,
  secretHash: hex(32),
  permissions: ['devices:read', 'devices:write'],
  createdBy: null,
  createdAt: T0,
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  ...over,
});

/** A provisioned device with a unique name. */
export const deviceFx = (orgId: string, over: Partial<Device> = {}): Device => ({
  id: newId(),
  orgId,
  name: `device-${next()}`,
  type: 'sensor-v1',
  firmwareType: null,
  firmwareVersion: null,
  tags: [],
  mode: 'autonomous',
  state: 'provisioned',
  locationId: null,
  lastSeenAt: null,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

/** A live device key. */
export const deviceKeyFx = (
  orgId: string,
  deviceId: string,
  over: Partial<DeviceKey> = {},
): DeviceKey => ({
  id: newId(),
  orgId,
  deviceId,
  secretHash: hex(32),
  createdAt: T0,
  revokedAt: null,
  ...over,
});

/** A site location. */
export const locationFx = (orgId: string, over: Partial<Location> = {}): Location => ({
  id: newId(),
  orgId,
  parentId: null,
  kind: 'site',
  name: `site ${next()}`,
  createdAt: T0,
  ...over,
});

/** A live certificate valid for a year from T0, with a fresh serial and key. */
export const certFx = (
  orgId: string,
  deviceId: string,
  over: Partial<CertificateRecord> = {},
): CertificateRecord => ({
  serial: hex(16),
  orgId,
  deviceId,
  certPem: `-----BEGIN CERTIFICATE-----\n${randomBytes(48).toString('base64')}\n-----END CERTIFICATE-----\n`,
  fingerprint: hex(32),
  spkiSha256: hex(32),
  notBefore: T0,
  notAfter: T0 + 365 * DAY,
  createdAt: T0,
  revokedAt: null,
  revocationReason: null,
  renewedFrom: null,
  supersededBy: null,
  retireAt: null,
  ...over,
});

/** An unused enrollment token valid for a day. */
export const enrollmentTokenFx = (
  orgId: string,
  deviceId: string,
  over: Partial<EnrollmentToken> = {},
): EnrollmentToken => ({
  id: newId(),
  orgId,
  deviceId,
  tokenHash: hex(32),
  createdBy: null,
  createdAt: T0,
  expiresAt: T0 + DAY,
  usedAt: null,
  ...over,
});

/** An audit draft for `orgId`. */
export const auditDraftFx = (orgId: string | null, over: Partial<AuditDraft> = {}): AuditDraft => ({
  id: newId(),
  orgId,
  at: T0,
  actorType: 'user',
  actorId: null,
  action: 'device.create',
  targetType: 'device',
  targetId: null,
  source: '127.0.0.1',
  result: 'success',
  detail: null,
  ...over,
});

/** A persisted channel without retention, with a unique name. */
export const channelFx = (orgId: string, over: Partial<Channel> = {}): Channel => ({
  id: newId(),
  orgId,
  name: `channel-${next()}`,
  persisted: true,
  retentionDays: null,
  contentType: null,
  createdAt: T0,
  ...over,
});

/** A device's publish-only connection to a channel. */
export const connectionFx = (
  orgId: string,
  channelId: string,
  over: Partial<ChannelConnection> = {},
): ChannelConnection => ({
  orgId,
  channelId,
  clientType: 'device',
  clientId: newId(),
  publish: true,
  subscribe: false,
  createdAt: T0,
  ...over,
});

/** An MQTT SenML message received at T0 with one temperature record at T0. */
export const envelopeFx = (
  orgId: string,
  channelId: string,
  over: Partial<Envelope> = {},
): Envelope => ({
  id: newId(),
  orgId,
  channelId,
  subtopic: '',
  publisher: { type: 'device', id: newId() },
  protocol: 'mqtt',
  contentType: 'application/senml+json',
  receivedAt: T0,
  payload: new TextEncoder().encode(`[{"n":"temp","v":${next()}}]`),
  senml: [{ n: 'temp', u: 'Cel', v: 21.5, t: T0 / 1000 }],
  origin: 'node-a',
  ...over,
});

/** Creates and returns a new organization. */
export async function seedOrg(s: Storage): Promise<Organization> {
  const org = orgFx();
  await s.organizations.create(org);
  return org;
}

/** Creates and returns a new user. */
export async function seedUser(s: Storage): Promise<User> {
  const user = userFx();
  await s.users.create(user);
  return user;
}

/** Creates and returns a new device in `orgId`. */
export async function seedDevice(
  s: Storage,
  orgId: string,
  over: Partial<Device> = {},
): Promise<Device> {
  const device = deviceFx(orgId, over);
  await s.devices.create(device);
  return device;
}

/** Creates and returns a new channel in `orgId`. */
export async function seedChannel(
  s: Storage,
  orgId: string,
  over: Partial<Channel> = {},
): Promise<Channel> {
  const channel = channelFx(orgId, over);
  await s.channels.create(channel);
  return channel;
}

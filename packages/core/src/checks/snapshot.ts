/**
 * What the fleet audit checks look at, read once per run (decision 0031): one organization's
 * devices with their certificates and channel rights, API keys, members, firmware and CAs. The
 * checks themselves are pure functions of this snapshot (org-checks.ts), so each is tested on
 * real stores without timers or sockets.
 */
import type { ChannelConnection } from '../ports/messaging.js';
import type { FirmwareArtifactRecord } from '../ports/firmware.js';
import type { FirmwareAdvisoryRecord } from '../ports/checks.js';
import type {
  ApiKey,
  CaRecord,
  CertificateRecord,
  Device,
  Membership,
  User,
} from '../ports/records.js';
import type { Storage } from '../ports/storage.js';

/** One organization's state as the checks see it. */
export interface OrgSnapshot {
  orgId: string;
  devices: Device[];
  /** Each device's certificates (every state), by device id. */
  certificates: Map<string, CertificateRecord[]>;
  /** Channel connections of devices and API keys, by `type:id`. */
  connections: Map<string, ChannelConnection[]>;
  apiKeys: ApiKey[];
  members: { membership: Membership; user: User }[];
  artifacts: FirmwareArtifactRecord[];
  advisories: FirmwareAdvisoryRecord[];
  cas: CaRecord[];
}

/** The stores a snapshot reads. */
export type SnapshotStorage = Pick<
  Storage,
  'devices' | 'pki' | 'channels' | 'apiKeys' | 'memberships' | 'users' | 'firmware' | 'checks'
>;

/** Page size of the reads: big enough to be few queries, small enough to bound one answer. */
const PAGE = 500;

async function allPages<T>(
  fetch: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await fetch(cursor);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

/** Reads one organization's snapshot. */
export async function loadSnapshot(s: SnapshotStorage, orgId: string): Promise<OrgSnapshot> {
  const devices = await allPages((cursor) => s.devices.list(orgId, {}, { limit: PAGE, cursor }));
  const certificates = new Map<string, CertificateRecord[]>();
  for (const d of devices) certificates.set(d.id, await s.pki.listCertificates(orgId, d.id));
  const channels = await allPages((cursor) => s.channels.list(orgId, { limit: PAGE, cursor }));
  const connections = new Map<string, ChannelConnection[]>();
  for (const c of channels)
    for (const conn of await s.channels.listConnections(orgId, c.id)) {
      const key = `${conn.clientType}:${conn.clientId}`;
      connections.set(key, [...(connections.get(key) ?? []), conn]);
    }
  const members: OrgSnapshot['members'] = [];
  for (const membership of await s.memberships.listByOrg(orgId)) {
    const user = await s.users.get(membership.userId);
    if (user) members.push({ membership, user });
  }
  const artifacts: FirmwareArtifactRecord[] = [];
  for (;;) {
    const before = artifacts[artifacts.length - 1]?.id;
    const batch = await s.firmware.listArtifacts(orgId, {
      limit: PAGE,
      ...(before === undefined ? {} : { before }),
    });
    artifacts.push(...batch);
    if (batch.length < PAGE) break;
  }
  const cas: CaRecord[] = [];
  for (const role of ['root', 'issuing'] as const) {
    const ca = await s.pki.getCa(orgId, role);
    if (ca) cas.push(ca);
  }
  return {
    orgId,
    devices,
    certificates,
    connections,
    apiKeys: await s.apiKeys.list(orgId),
    members,
    artifacts,
    advisories: await s.checks.listAdvisories(orgId),
    cas,
  };
}

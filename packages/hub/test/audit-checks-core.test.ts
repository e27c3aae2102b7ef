/**
 * Each fleet audit check on its own (decision 0031), on real stores — SQLite in a temp dir —
 * through core's AuditCheckService: what triggers it, what just does not, its severity and the
 * resources it names; then the run's bookkeeping (identity, resolution, suppression, alerts,
 * the per-organization lease) and the hub-configuration rules taken from doctor.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlertService,
  AuditCheckService,
  DEFAULT_AUDIT_CHECK_CONFIG,
  newId,
  type FindingRecord,
  type Organization,
  type Storage,
} from '@bulwark/core';
import { PERMISSIONS } from '@bulwark/protocol';
import { openSqliteStorage } from '@bulwark/store-sqlite';
import {
  T0,
  apiKeyFx,
  certFx,
  channelFx,
  connectionFx,
  deviceFx,
  membershipFx,
  orgFx,
  userFx,
} from '@bulwark/testkit';
import { hubFindings } from '../src/hub-checks.js';

const DAY = 86_400_000;

describe('audit checks, one by one, on SQLite', () => {
  let dir: string;
  let storage: Storage;
  let org: Organization;
  let now = T0;
  const clock = { now: () => now };
  let service: AuditCheckService;
  let hubDrafts: ReturnType<typeof hubFindings> = [];

  const make = (nodeId = 'node-a') =>
    new AuditCheckService({
      storage,
      clock,
      nodeId,
      alerts: new AlertService({ storage, clock }),
      hubChecks: async () => hubDrafts,
      config: { ...DEFAULT_AUDIT_CHECK_CONFIG, intervalMs: DAY, hubOrgId: '' },
    });
  const open = async (checkId?: string): Promise<FindingRecord[]> =>
    (await storage.checks.listOpenFindings(org.id)).filter(
      (f) => checkId === undefined || f.checkId === checkId,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-checks-'));
    storage = await openSqliteStorage({ path: join(dir, 'hub.db') });
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // A fresh organization per test: each sees only its own resources.
  beforeEach(async () => {
    now = T0;
    hubDrafts = [];
    org = orgFx();
    await storage.organizations.create(org);
    service = make();
  });

  const device = async (over: Parameters<typeof deviceFx>[1] = {}) => {
    const d = deviceFx(org.id, { state: 'active', ...over });
    await storage.devices.create(d);
    return d;
  };
  const member = async (role: 'owner' | 'admin' | 'operator' | 'viewer', totp = false) => {
    const u = userFx({ totpEnabled: totp });
    await storage.users.create(u);
    await storage.memberships.put(membershipFx(org.id, u.id, { role }));
    return u;
  };

  it('certificate.expiring: within the window medium, within a week or expired high; renewed or outside, none', async () => {
    const soon = await device();
    const c1 = certFx(org.id, soon.id, { notAfter: T0 + 20 * DAY });
    await storage.pki.insertCertificate(c1);
    const urgent = await device();
    await storage.pki.insertCertificate(certFx(org.id, urgent.id, { notAfter: T0 + 3 * DAY }));
    const fine = await device();
    await storage.pki.insertCertificate(certFx(org.id, fine.id, { notAfter: T0 + 31 * DAY }));
    // An expiring certificate beside a fresh one (re-enrolled) is no risk.
    const reenrolled = await device();
    await storage.pki.insertCertificate(certFx(org.id, reenrolled.id, { notAfter: T0 + 2 * DAY }));
    await storage.pki.insertCertificate(certFx(org.id, reenrolled.id));
    const r = await service.run(org.id);
    const found = await open('certificate.expiring');
    assert.equal(found.length, 2);
    const m = found.find((f) => f.key === `certificate:${c1.serial}`)!;
    assert.equal(m.severity, 'medium');
    assert.match(m.message, /expires on 2025-01-21 \(in 20 days\) and has not been renewed/);
    assert.deepEqual(m.resources, [
      { type: 'device', id: soon.id },
      { type: 'certificate', id: c1.serial },
    ]);
    assert.equal(found.find((f) => f.resources.some((x) => x.id === urgent.id))?.severity, 'high');
    assert.ok(r.new >= 2);
    // Expired without a successor: high, and says the device cannot connect.
    now = T0 + 25 * DAY;
    await service.run(org.id);
    const expired = (await open('certificate.expiring')).find((f) => f.id === m.id)!;
    assert.equal(expired.severity, 'high');
    assert.match(expired.message, /expired on 2025-01-21 and has no successor/);
  });

  it('certificate.old: a live certificate issued longer ago than the policy age', async () => {
    const d = await device();
    const old = certFx(org.id, d.id, { notBefore: T0 - 400 * DAY, notAfter: T0 + 600 * DAY });
    await storage.pki.insertCertificate(old);
    await storage.pki.insertCertificate(
      certFx(org.id, d.id, { notBefore: T0 - 365 * DAY, notAfter: T0 + 600 * DAY }),
    );
    await service.run(org.id);
    const found = await open('certificate.old');
    assert.deepEqual(
      found.map((f) => f.key),
      [`certificate:${old.serial}`],
    );
    assert.match(found[0]!.message, /issued on 2023-11-28, 400 days ago/);
  });

  it('certificate.shared: one key live on two devices is critical and names both; revoked copies do not count', async () => {
    const a = await device();
    const b = await device();
    const c = await device();
    const ca = certFx(org.id, a.id);
    await storage.pki.insertCertificate(ca);
    const cb = certFx(org.id, b.id, { spkiSha256: ca.spkiSha256 });
    await storage.pki.insertCertificate(cb);
    // c's copy of the key is revoked: not shared any more.
    await storage.pki.insertCertificate(
      certFx(org.id, c.id, { spkiSha256: ca.spkiSha256, revokedAt: T0, revocationReason: 'x' }),
    );
    await service.run(org.id);
    const [f, ...rest] = await open('certificate.shared');
    assert.equal(rest.length, 0);
    assert.equal(f!.severity, 'critical');
    assert.equal(f!.key, `spki:${ca.spkiSha256}`);
    assert.deepEqual(
      f!.resources.filter((r) => r.type === 'device').map((r) => r.id),
      [a.id, b.id].sort(),
    );
    // A device in another organization with the same key is not this organization's business.
    const other = orgFx();
    await storage.organizations.create(other);
    const foreign = deviceFx(other.id);
    await storage.devices.create(foreign);
    await storage.pki.insertCertificate(
      certFx(other.id, foreign.id, { spkiSha256: ca.spkiSha256 }),
    );
    await storage.pki.revokeCertificate(org.id, cb.serial, T0, 'key_compromise');
    await service.run(org.id);
    assert.equal((await open('certificate.shared')).length, 0);
    assert.equal((await storage.checks.getFinding(org.id, f!.id))?.state, 'resolved');
  });

  it('organization.ca_expiring: a CA within the window high, expired critical', async () => {
    for (const [role, notAfter] of [
      ['root', T0 + 60 * DAY],
      ['issuing', T0 - DAY],
    ] as const)
      await storage.pki.putCaIfAbsent({
        scope: org.id,
        role,
        certPem: 'pem',
        keySealed: 'sealed',
        serial: `${role}-serial`,
        notAfter,
        createdAt: T0 - 1000 * DAY,
      });
    await service.run(org.id);
    const found = await open('organization.ca_expiring');
    assert.deepEqual(found.map((f) => [f.key, f.severity]).sort(), [
      ['ca:issuing', 'critical'],
      ['ca:root', 'high'],
    ]);
  });

  it('api_key.admin / unused / no_expiry', async () => {
    const all = apiKeyFx(org.id, { permissions: [...PERMISSIONS], createdAt: T0 - 100 * DAY });
    const admin = apiKeyFx(org.id, {
      permissions: ['devices:read', 'api-keys:manage'],
      lastUsedAt: T0 - 10 * DAY,
      expiresAt: T0 + DAY,
    });
    const plain = apiKeyFx(org.id, {
      permissions: ['devices:read'],
      lastUsedAt: T0 - 91 * DAY,
      expiresAt: T0 + DAY,
    });
    const revoked = apiKeyFx(org.id, { permissions: [...PERMISSIONS], revokedAt: T0 - DAY });
    const expired = apiKeyFx(org.id, { permissions: [...PERMISSIONS], expiresAt: T0 - 1 });
    for (const k of [all, admin, plain, revoked, expired]) await storage.apiKeys.create(k);
    await service.run(org.id);
    const byKey = async (check: string) =>
      (await open(check)).map((f) => [f.key, f.severity]).sort();
    assert.deepEqual(
      await byKey('api_key.admin'),
      [
        [`api_key:${admin.id}`, 'medium'],
        [`api_key:${all.id}`, 'high'],
      ].sort(),
    );
    assert.deepEqual(
      await byKey('api_key.unused'),
      [
        [`api_key:${all.id}`, 'medium'],
        [`api_key:${plain.id}`, 'medium'],
      ].sort(),
    );
    const neverUsed = (await open('api_key.unused')).find((f) => f.key === `api_key:${all.id}`)!;
    assert.match(neverUsed.message, /has never been used since it was created on 2024-09-23/);
    assert.deepEqual(await byKey('api_key.no_expiry'), [[`api_key:${all.id}`, 'low']]);
  });

  it('device.publish_channels and device.decommissioned_rights', async () => {
    const busy = await device();
    const tidy = await device();
    const gone = await device({ state: 'decommissioned' });
    const channels = [];
    for (let i = 0; i < 21; i++) {
      const c = channelFx(org.id);
      await storage.channels.create(c);
      channels.push(c);
      await storage.channels.connect(connectionFx(org.id, c.id, { clientId: busy.id }));
      // Subscribe-only rights do not count toward publishing.
      if (i < 20) await storage.channels.connect(connectionFx(org.id, c.id, { clientId: tidy.id }));
    }
    await storage.channels.connect(
      connectionFx(org.id, channels[0]!.id, { clientId: tidy.id, publish: false, subscribe: true }),
    );
    await storage.channels.connect(
      connectionFx(org.id, channels[0]!.id, {
        clientId: gone.id,
        publish: false,
        subscribe: true,
      }),
    );
    await service.run(org.id);
    const broad = await open('device.publish_channels');
    assert.deepEqual(
      broad.map((f) => f.key),
      [`device:${busy.id}`],
    );
    assert.match(broad[0]!.message, /may publish on 21 channels, more than the policy's 20/);
    const rights = await open('device.decommissioned_rights');
    assert.deepEqual(
      rights.map((f) => [f.key, f.severity]),
      [[`device:${gone.id}`, 'high']],
    );
    // A decommissioned device with many rights is reported once, as decommissioned.
    assert.ok(!broad.some((f) => f.key === `device:${gone.id}`));
  });

  it('user.no_second_factor (owners and admins high) and organization.single_owner', async () => {
    const owner = await member('owner');
    await member('operator');
    await member('viewer', true);
    await service.run(org.id);
    const users = await open('user.no_second_factor');
    assert.equal(users.length, 2);
    assert.equal(users.find((f) => f.key === `user:${owner.id}`)?.severity, 'high');
    assert.equal(users.find((f) => f.key !== `user:${owner.id}`)?.severity, 'medium');
    const single = await open('organization.single_owner');
    assert.deepEqual(
      single.map((f) => f.resources),
      [
        [
          { type: 'organization', id: org.id },
          { type: 'user', id: owner.id },
        ],
      ],
    );
    // An admin beside the owner resolves it (TOTP set, so no new user finding).
    await member('admin', true);
    const r = await service.run(org.id);
    assert.equal(r.resolved, 1);
    assert.equal((await open('organization.single_owner')).length, 0);
  });

  it('firmware.flagged (vulnerable critical, withdrawn high) and firmware.outdated', async () => {
    const artifact = (version: string, releaseCounter: number, createdAt: number) => ({
      id: newId(),
      orgId: org.id,
      name: `fw-${version}.img`,
      types: ['sensor-v1'],
      hardware: [],
      version,
      releaseCounter,
      length: 1,
      sha256: newId().replace(/-/g, '').padEnd(64, '0'),
      metadata: '{}',
      state: 'ready' as const,
      blobKey: 'k',
      createdBy: 'u',
      createdAt,
    });
    const v1 = artifact('1.0.0', 1, T0 - 400 * DAY);
    const v2 = artifact('2.0.0', 2, T0 - 200 * DAY);
    const v3 = artifact('3.0.0', 3, T0 - DAY);
    for (const a of [v1, v2, v3]) await storage.firmware.createArtifact(a);
    const onV1 = await device({ firmwareVersion: '1.0.0' });
    const onV2 = await device({ firmwareVersion: '2.0.0' });
    const otherType = await device({ firmwareVersion: '1.0.0', type: 'camera' });
    const retired = await device({ firmwareVersion: '1.0.0', state: 'decommissioned' });
    await storage.checks.putAdvisory({
      orgId: org.id,
      artifactId: v1.id,
      status: 'vulnerable',
      reason: 'CVE-2026-0001 in the TLS stack',
      setBy: null,
      setAt: T0,
    });
    await storage.checks.putAdvisory({
      orgId: org.id,
      artifactId: v2.id,
      status: 'withdrawn',
      reason: 'drains the battery',
      setBy: null,
      setAt: T0,
    });
    await service.run(org.id);
    const flagged = await open('firmware.flagged');
    assert.deepEqual(
      flagged.map((f) => [f.key, f.severity]).sort(),
      [
        [`device:${onV1.id}`, 'critical'],
        [`device:${onV2.id}`, 'high'],
      ].sort(),
    );
    assert.match(
      flagged.find((f) => f.key === `device:${onV1.id}`)!.message,
      /runs fw-1\.0\.0\.img version 1\.0\.0, marked vulnerable: CVE-2026-0001 in the TLS stack/,
    );
    for (const d of [otherType, retired])
      assert.ok(!flagged.some((f) => f.key === `device:${d.id}`));
    // v2 has been ready for 200 days (> 180): v1 is outdated; v3 is only a day old, so v2 is not.
    const outdated = await open('firmware.outdated');
    assert.deepEqual(
      outdated.map((f) => f.key),
      [`device:${onV1.id}`],
    );
    assert.match(outdated[0]!.message, /runs version 1\.0\.0; version 2\.0\.0 for its type/);
  });

  it('identity across runs, resolution, suppression, and alerts only for new unsuppressed high findings', async () => {
    const a = await device();
    const b = await device();
    const ca = certFx(org.id, a.id);
    await storage.pki.insertCertificate(ca);
    await storage.pki.insertCertificate(certFx(org.id, b.id, { spkiSha256: ca.spkiSha256 }));
    const gone = await device({ state: 'decommissioned' });
    const ch = channelFx(org.id);
    await storage.channels.create(ch);
    await storage.channels.connect(connectionFx(org.id, ch.id, { clientId: gone.id }));
    // Suppressed before it is first seen: listed, but no alert.
    await service.suppress(org.id, 'u1', {
      checkId: 'device.decommissioned_rights',
      resource: `device:${gone.id}`,
      reason: 'being collected',
      ttlSeconds: 3600,
    });
    const first = await service.run(org.id);
    const alerts = (await storage.alerts.list(org.id, { state: 'open' }, { limit: 50 })).items;
    assert.deepEqual(
      alerts.map((x) => [x.deviceId, x.kind]),
      [[[a.id, b.id].sort()[0], 'audit_finding']],
    );
    const listed = await service.list(
      org.id,
      { checkId: 'device.decommissioned_rights' },
      {
        limit: 10,
      },
    );
    assert.equal(listed.items[0]?.suppression?.reason, 'being collected');
    // The second run sees the same conditions: same ids, no new alerts, last seen moves.
    now += 60_000;
    const second = await service.run(org.id);
    assert.equal(second.new, 0);
    assert.equal(second.open, first.open);
    const shared = (await open('certificate.shared'))[0]!;
    assert.equal(shared.firstSeenAt, T0);
    assert.equal(shared.lastSeenAt, T0 + 60_000);
    assert.equal((await storage.alerts.list(org.id, {}, { limit: 50 })).items.length, 1);
    // Not the oldest organization (an earlier test made that one): no hub checks here.
    assert.equal(second.hubChecks, false);
    // Expired suppression: the finding shows plainly again.
    now += 3600_000;
    const plain = await service.list(
      org.id,
      { checkId: 'device.decommissioned_rights' },
      {
        limit: 10,
      },
    );
    assert.equal(plain.items[0]?.suppression, null);
  });

  it('one run per organization at a time; the scheduled pass once per interval on one node', async () => {
    assert.equal(await storage.checks.lease(`org:${org.id}`, 'node-b', now, now + 60_000), true);
    await assert.rejects(service.run(org.id), /running already/);
    await storage.checks.releaseLease(`org:${org.id}`, 'node-b');
    await service.run(org.id);
    const b = make('node-b');
    now = T0 + 1000 * DAY;
    const pass = await service.runPass();
    assert.ok(pass && pass.orgs >= 1);
    assert.equal(await b.runPass(), undefined, 'not due again on any node');
    now += DAY + 1;
    assert.ok(await b.runPass());
  });

  it('hub checks: the operator organization only, from doctor’s listener rules', async () => {
    assert.deepEqual(hubFindings({ httpPort: 1, mqttPort: 2, mqttOpen: null, coap: null }), []);
    // Open mode on loopback is its purpose (conformance, benchmarks): no finding.
    assert.deepEqual(
      hubFindings({
        httpPort: 1,
        mqttPort: 2,
        mqttOpen: { address: '127.0.0.1', port: 1884 },
        coap: null,
      }),
      [],
    );
    const exposed = hubFindings({
      httpPort: 1,
      mqttPort: 2,
      mqttOpen: { address: '0.0.0.0', port: 1884 },
      coap: { address: '0.0.0.0', port: 5683 },
    });
    assert.deepEqual(
      exposed.map((f) => [f.checkId, f.severity, f.key]),
      [
        ['hub.mqtt_open_exposed', 'critical', 'listener:mqtt-open@0.0.0.0:1884'],
        ['hub.coap_plaintext', 'high', 'listener:coap@0.0.0.0:5683'],
      ],
    );
    assert.match(exposed[0]!.message, /anonymous clients, no access control/);
    const local = hubFindings({
      httpPort: 1,
      mqttPort: 2,
      mqttOpen: null,
      coap: { address: '127.0.0.1', port: 5683 },
    });
    assert.deepEqual(
      local.map((f) => [f.checkId, f.severity]),
      [['hub.coap_plaintext', 'low']],
    );
    // This test's organization is not the oldest: it gets no hub findings …
    hubDrafts = exposed;
    assert.equal((await service.run(org.id)).hubChecks, false);
    assert.equal((await open()).filter((f) => f.checkId.startsWith('hub.')).length, 0);
    // … unless configured as the operator organization; a fixed listener resolves.
    const operator = new AuditCheckService({
      storage,
      clock,
      nodeId: 'node-a',
      hubChecks: async () => hubDrafts,
      config: { ...DEFAULT_AUDIT_CHECK_CONFIG, intervalMs: DAY, hubOrgId: org.id },
    });
    assert.equal((await operator.run(org.id)).hubChecks, true);
    assert.equal((await open()).filter((f) => f.checkId.startsWith('hub.')).length, 2);
    hubDrafts = local;
    const r = await operator.run(org.id);
    assert.equal(r.resolved, 2);
    assert.equal(r.new, 1);
    // Without the hub's view (a run elsewhere), hub findings are left as they are.
    await service.run(org.id);
    assert.equal((await open('hub.coap_plaintext')).length, 1);
  });
});

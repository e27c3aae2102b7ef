/**
 * Fleet audit checks end to end (decision 0031): a hub with the bad conditions — an expiring
 * certificate, one key on two devices, a never-expiring API key, an owner without TOTP, a
 * single-owner organization, a decommissioned device with channel rights, a device on a withdrawn
 * release, a plain CoAP listener — runs its checks through the API; each finding is asserted;
 * then one is suppressed and one fixed and the checks run again. Another organization sees none
 * of it, and the permissions are enforced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import type { FindingView } from '@bulwark/protocol';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { firmwarePublisher } from './rollout-helpers.js';

describe('fleet audit checks over the API', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let api: BulwarkClient;
  let admin: BulwarkClient;
  const ids: Record<string, string> = {};

  const findings = async (c: BulwarkClient = admin) => {
    const out: FindingView[] = [];
    for await (const f of c.checks.all()) out.push(f);
    return out;
  };
  const about = (all: FindingView[], checkId: string, type: string, id: string) =>
    all.find(
      (f) => f.checkId === checkId && f.resources.some((r) => r.type === type && r.id === id),
    );

  before(async () => {
    // Certificates live 10 days (inside the 30-day window); CoAP on loopback (plain UDP).
    t = await startTestHub(['--device-cert-days', '10', '--coap-port', '0']);
    s = await setupOwner(t);
    api = s.api;
    // The owner's own key runs and suppresses (checks:manage); s.api only reads (audit:read).
    const { key } = await s.owner.apiKeys.create({
      name: 'auditor',
      permissions: ['audit:read', 'checks:manage', 'devices:read', 'firmware:update'],
      expiresInDays: 30,
    });
    admin = t.client(key);
    ids['auditorKey'] = (await s.owner.apiKeys.list()).find((k) => k.name === 'auditor')!.id;

    // Two devices enrolled with ONE key: enrollment refuses the second, so the shared
    // certificate is written as an import or an older hub would have left it.
    const enroll = async (name: string, keyAndCsr?: { csrPem: string }) => {
      const device = await api.devices.create({ name, type: 'sensor' });
      const { token } = await api.devices.createEnrollmentToken(device.id, {});
      const k = keyAndCsr ?? (await generateDeviceKeyAndCsr());
      await t.client().enroll({ token, csr: k.csrPem });
      return device.id;
    };
    ids['a'] = await enroll('sensor-a');
    ids['b'] = await enroll('sensor-b');
    const [certA] = await t.hub.storage.pki.listCertificates(s.orgId, ids['a']);
    await t.hub.storage.pki.insertCertificate({
      ...certA!,
      serial: 'ab'.repeat(8),
      deviceId: ids['b'],
    });
    ids['certA'] = certA!.serial;

    // A decommissioned device that kept a channel right (written past the decommission path,
    // which removes them).
    const channel = await api.channels.create({ name: 'telemetry' });
    ids['channel'] = channel.id;
    const gone = await api.devices.create({ name: 'old-unit', type: 'sensor' });
    ids['gone'] = gone.id;
    await api.devices.decommission(gone.id);
    await t.hub.storage.channels.connect({
      orgId: s.orgId,
      channelId: channel.id,
      clientType: 'device',
      clientId: gone.id,
      publish: true,
      subscribe: false,
      createdAt: t.clock.now(),
    });

    // A release the operator withdraws, which device a reports running.
    const fw = await firmwarePublisher(s.owner);
    const v1 = await fw.publish('1.0.0', ['sensor'], 1);
    ids['v1'] = v1.id;
    await t.hub.storage.devices.update(s.orgId, ids['a'], { firmwareVersion: '1.0.0' });
    await admin.firmware.setAdvisory(v1.id, {
      status: 'withdrawn',
      reason: 'boot loop on rev-a boards',
    });
  });
  after(() => t.close());

  it('runs the checks and reports each bad condition with its resources', async () => {
    const run = await admin.checks.run();
    assert.equal(run.hubChecks, true, 'the first organization operates the hub');
    assert.ok(run.new >= 7 && run.open === run.new, JSON.stringify(run));
    const all = await findings();

    const expiring = about(all, 'certificate.expiring', 'device', ids['b']!);
    assert.equal(expiring?.severity, 'medium');
    assert.match(expiring.message, /expires on \d{4}-\d\d-\d\d \(in (9|10) days\)/);

    const shared = all.find((f) => f.checkId === 'certificate.shared');
    assert.equal(shared?.severity, 'critical');
    assert.deepEqual(
      shared.resources.filter((r) => r.type === 'device').map((r) => r.id),
      [ids['a'], ids['b']].sort(),
    );
    assert.ok(shared.resources.some((r) => r.type === 'certificate' && r.id === ids['certA']));

    // setupOwner's key never expires; the auditor key does.
    const noExpiry = all.filter((f) => f.checkId === 'api_key.no_expiry');
    assert.equal(noExpiry.length, 1);
    assert.equal(noExpiry[0]!.severity, 'low');
    assert.ok(!about(all, 'api_key.no_expiry', 'api_key', ids['auditorKey']!));
    // … and it holds users:manage and api-keys:manage.
    assert.equal(all.find((f) => f.checkId === 'api_key.admin')?.severity, 'medium');

    const totp = about(all, 'user.no_second_factor', 'user', s.userId);
    assert.equal(totp?.severity, 'high');
    assert.match(totp.message, /owner@example.com \(owner\) has no second factor/);

    const single = about(all, 'organization.single_owner', 'organization', s.orgId);
    assert.equal(single?.severity, 'medium');

    const rights = about(all, 'device.decommissioned_rights', 'device', ids['gone']!);
    assert.equal(rights?.severity, 'high');
    assert.ok(rights.resources.some((r) => r.type === 'channel' && r.id === ids['channel']));

    const flagged = about(all, 'firmware.flagged', 'device', ids['a']!);
    assert.equal(flagged?.severity, 'high');
    assert.match(flagged.message, /version 1\.0\.0, marked withdrawn: boot loop on rev-a boards/);
    assert.ok(flagged.resources.some((r) => r.type === 'artifact' && r.id === ids['v1']));

    const coap = all.find((f) => f.checkId === 'hub.coap_plaintext');
    assert.equal(coap?.severity, 'low', 'CoAP on loopback: plain, but local only');
    assert.match(coap.message, /no DTLS/);

    for (const f of all) {
      assert.equal(f.state, 'open');
      assert.equal(f.suppressed, false);
      assert.equal(f.firstSeenAt, f.lastSeenAt);
    }
  });

  it('raises an audit_finding alert for a new high or critical finding about a device', async () => {
    const alerts = (await api.alerts.list({ state: 'open' })).items;
    const onA = alerts.find((a) => a.deviceId === ids['a'] && a.kind === 'audit_finding');
    assert.ok(onA, JSON.stringify(alerts));
    const onGone = alerts.find((a) => a.deviceId === ids['gone'] && a.kind === 'audit_finding');
    assert.equal(onGone?.evidence['checkId'], 'device.decommissioned_rights');
    assert.equal(onGone?.severity, 'high', "the finding's severity");
    // A high finding about no device (a member without a second factor) raises a fleet-wide one.
    const fleet = alerts.find(
      (a) => a.deviceId === null && a.evidence['checkId'] === 'user.no_second_factor',
    );
    assert.ok(fleet, JSON.stringify(alerts));
    assert.match(fleet.title, /has no second factor/);
  });

  it('filters by check, severity and state and shows one finding', async () => {
    const high = await admin.checks.list({ severity: 'high' });
    assert.ok(high.items.length >= 3);
    assert.ok(high.items.every((f) => f.severity === 'high'));
    const byCheck = await admin.checks.list({ checkId: 'certificate.shared', state: 'open' });
    assert.equal(byCheck.items.length, 1);
    const one = await admin.checks.get(byCheck.items[0]!.id);
    assert.deepEqual(one, byCheck.items[0]);
    const bad = await raw(t, 'GET', '/checks/findings?severity=dire', undefined, s.apiKey);
    assert.equal(bad.status, 400);
  });

  it('a suppressed finding stays listed, marked; a fixed one resolves; the rest keep their identity', async () => {
    const before = await findings();
    const totp = about(before, 'user.no_second_factor', 'user', s.userId)!;
    const suppression = await admin.checks.suppress({
      checkId: 'user.no_second_factor',
      resource: `user:${s.userId}`,
      reason: 'owner enrolls a hardware token next week',
      ttlSeconds: 7 * 86_400,
    });
    // Fix one: disconnect the decommissioned device from the channel.
    await api.channels.disconnect(ids['channel']!, 'device', ids['gone']!);
    t.clock.advance(60_000);
    const rerun = await admin.checks.run();
    assert.equal(rerun.new, 0);
    assert.equal(rerun.resolved, 1);
    const after = await findings();
    const still = about(after, 'user.no_second_factor', 'user', s.userId)!;
    assert.equal(still.id, totp.id);
    assert.equal(still.state, 'open');
    assert.equal(still.suppressed, true);
    assert.equal(still.suppression?.id, suppression.id);
    assert.equal(still.suppression?.reason, 'owner enrolls a hardware token next week');
    assert.equal(still.firstSeenAt, totp.firstSeenAt);
    assert.ok(Date.parse(still.lastSeenAt) > Date.parse(totp.lastSeenAt));
    const fixed = about(after, 'device.decommissioned_rights', 'device', ids['gone']!)!;
    assert.equal(fixed.state, 'resolved');
    assert.ok(fixed.resolvedAt);
    // Its alert resolves with it.
    const alert = (await api.alerts.list({ deviceId: ids['gone']! })).items.find(
      (a) => a.kind === 'audit_finding',
    );
    assert.equal(alert?.state, 'resolved');
    // No duplicates: one finding per condition across the two runs.
    assert.equal(after.length, before.length);
    assert.deepEqual(after.map((f) => f.id).sort(), before.map((f) => f.id).sort());
    // The suppression is in the audit log with its reason.
    const [row] = (await api.audit.list({ action: 'createSuppression', limit: 1 })).items;
    assert.equal(row?.result, 'success');
    assert.match(JSON.stringify(row?.detail), /hardware token next week/);
    // Unsuppressed, it is plain again.
    await admin.checks.unsuppress(suppression.id);
    assert.equal((await admin.checks.get(totp.id)).suppressed, false);
    assert.equal(
      (await raw(t, 'DELETE', `/checks/suppressions/${suppression.id}`, undefined, s.apiKey))
        .status,
      403,
    );
  });

  it('an admin beside the owner resolves the single-owner finding; clearing the advisory resolves flagged firmware', async () => {
    await s.owner.users.create({
      email: 'second@example.com',
      name: 'Second',
      password: PASSWORD,
      role: 'admin',
    });
    await admin.firmware.clearAdvisory(ids['v1']!);
    await admin.checks.run();
    const all = await findings();
    assert.equal(
      about(all, 'organization.single_owner', 'organization', s.orgId)?.state,
      'resolved',
    );
    assert.equal(about(all, 'firmware.flagged', 'device', ids['a']!)?.state, 'resolved');
    // The new admin has no second factor either: a new finding.
    assert.ok(
      all.some(
        (f) =>
          f.checkId === 'user.no_second_factor' &&
          f.state === 'open' &&
          f.severity === 'high' &&
          !f.resources.some((r) => r.id === s.userId),
      ),
    );
  });

  it('refuses callers without the permission, and bad input changes nothing', async () => {
    // s.api holds audit:read but not checks:manage.
    assert.equal((await raw(t, 'POST', '/checks/run', {}, s.apiKey)).status, 403);
    const sup = { checkId: 'api_key.no_expiry', reason: 'ok for now', ttlSeconds: 3600 };
    assert.equal((await raw(t, 'POST', '/checks/suppressions', sup, s.apiKey)).status, 403);
    const { key: viewerKey } = await s.owner.apiKeys.create({
      name: 'viewer',
      permissions: ['devices:read'],
    });
    assert.equal((await raw(t, 'GET', '/checks/findings', undefined, viewerKey)).status, 403);
    assert.equal((await raw(t, 'GET', '/checks/suppressions', undefined, viewerKey)).status, 403);
    const { key: adminKey } = await s.owner.apiKeys.create({
      name: 'bad-input',
      permissions: ['checks:manage'],
    });
    for (const body of [
      { ...sup, checkId: 'no.such_check' },
      { ...sup, ttlSeconds: 400 * 86_400 },
      { ...sup, reason: '' },
      { ...sup, resource: 'not a resource' },
      { ...sup, extra: 1 },
    ])
      assert.equal((await raw(t, 'POST', '/checks/suppressions', body, adminKey)).status, 400);
    assert.deepEqual(await admin.checks.suppressions(), []);
    const advisory = await raw(
      t,
      'POST',
      `/firmware/artifacts/${ids['a']}/advisory`,
      { status: 'withdrawn', reason: 'not an artifact' },
      s.tokens.accessToken,
    );
    assert.equal(advisory.status, 404);
  });

  it("another organization's resources never appear in an organization's findings", async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t.client().auth.login({
        email: 'owner@example.com',
        password: PASSWORD,
        organizationId: org2.id,
      })
    ).accessToken;
    const other = t.client(token);
    await other.devices.create({ name: 'foreign', type: 'sensor' });
    const run = await other.checks.run();
    assert.equal(run.hubChecks, false, 'only the operator organization sees the hub');
    const theirs = await findings(other);
    const mine = new Set((await findings()).map((f) => f.id));
    assert.ok(theirs.length > 0);
    for (const f of theirs) {
      assert.ok(!mine.has(f.id));
      assert.ok(!f.checkId.startsWith('hub.'));
      for (const r of f.resources)
        assert.ok(
          ![ids['a'], ids['b'], ids['gone'], ids['certA'], ids['v1'], s.orgId].includes(r.id),
          `org2 sees ${r.type} ${r.id}`,
        );
    }
    const someFinding = (await findings())[0]!;
    assert.equal(
      (await raw(t, 'GET', `/checks/findings/${someFinding.id}`, undefined, token)).status,
      404,
    );
    const sup = await admin.checks.suppress({
      checkId: 'api_key.no_expiry',
      reason: 'test suppression',
      ttlSeconds: 3600,
    });
    assert.equal(
      (await raw(t, 'DELETE', `/checks/suppressions/${sup.id}`, undefined, token)).status,
      404,
    );
    assert.deepEqual(await other.checks.suppressions(), []);
  });

  it('the scheduled pass runs every organization once per interval, on the node holding the lease', async () => {
    t.clock.advance(25 * 3600_000);
    const first = await t.hub.checksRunner.tick();
    assert.equal(first?.orgs, 2);
    // Not due again until the interval has passed.
    assert.equal(await t.hub.checksRunner.tick(), undefined);
    // Another node holding the pass lease keeps this one out.
    t.clock.advance(25 * 3600_000);
    const now = t.clock.now();
    assert.equal(await t.hub.storage.checks.lease('pass', 'other-node', now, now + 60_000), true);
    assert.equal(await t.hub.checksRunner.tick(), undefined);
    await t.hub.storage.checks.releaseLease('pass', 'other-node');
    assert.equal((await t.hub.checksRunner.tick())?.orgs, 2);
  });
});

/**
 * Mitigations end to end (issue 14 item 3, decision 0036) on a real hub: an alert raised through
 * the AlertService, as a detector raises it, quarantines a device connected over MQTT with TLS
 * within 2 s (its live session cut, its data refused when it comes back); the action is recorded
 * and audited and its revert lets the device back. A dry-run policy only says what it would do; a
 * manual revocation cannot be reverted; desired values come back on revert; a policy beyond its
 * creator's permissions is refused (and one whose creator lost them fails); another organization
 * sees nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { publisher } from './updates-helpers.js';

/** Resolves when the server closes the client (rejects after `ms`). */
function closedBy(client: MqttClient, ms = 2000): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
    let reason: number | undefined;
    client.on('disconnect', (p) => (reason = p.reasonCode));
    client.once('close', () => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

describe('mitigations: alerts → policies → actions on live devices', () => {
  let t: TestHub;
  let a: Awaited<ReturnType<typeof setupOwner>>;
  let orgB: { id: string; api: BulwarkClient };
  let channelId: string;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => (clients.push(c), c);
  const topic = () => `channels/${channelId}/messages/m`;

  async function device(name: string) {
    const d = await a.api.devices.create({ name, type: 'sensor' });
    await a.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    const { token } = await a.api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const tls = {
      cert: (await t.client().enroll({ token, csr: k.csrPem })).certificate,
      key: k.keyPem,
    };
    return { id: d.id, tls };
  }
  const connect = (d: { id: string; tls: { cert: string; key: string } }) =>
    connectTls(t, { ...d.tls, clientId: d.id }).then(track);

  before(async () => {
    t = await startTestHub();
    a = await setupOwner(t);
    channelId = (await a.api.channels.create({ name: 'mitigations' })).id;
    const org = await a.owner.orgs.create({ name: 'Other Corp' });
    const login = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org.id,
    });
    const r = await t.client(login.accessToken).apiKeys.create({
      name: 'org-b',
      permissions: ['devices:read', 'devices:manage'],
    });
    orgB = { id: org.id, api: t.client(r.key) };
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await t.close();
  });

  it('a matching alert cuts the live MQTT session and refuses its data within 2 s; recorded, audited; the revert lets it back', async (ctx) => {
    const policy = await a.api.mitigations.policies.create({
      name: 'contain clones',
      kinds: ['cloned_certificate'],
      minSeverity: 'high',
      action: 'quarantine',
    });
    assert.equal(policy.createdBy.startsWith('api_key:'), true);
    const d = await device('cloned');
    const c = await connect(d);
    assert.equal(await publish(c, topic(), 'before'), 0);
    const closed = closedBy(c);
    const t0 = performance.now();
    const { alert } = await t.hub.services.alerts.raise({
      orgId: a.orgId,
      deviceId: d.id,
      kind: 'cloned_certificate',
      evidence: { source: 'test', observed: 2 },
    });
    assert.equal(await closed, 0x98, 'DISCONNECT: administrative action');
    const cut = performance.now() - t0;
    // Back at once: admitted to its management plane only (decision 0036), its data refused.
    const back = await connect(d);
    assert.equal(await publish(back, topic(), 'while quarantined'), 0x87);
    const contained = performance.now() - t0;
    ctx.diagnostic(
      `alert → session cut ${cut.toFixed(0)} ms; → reconnect's data refused ${contained.toFixed(0)} ms`,
    );
    assert.ok(contained < 2000, `contained in ${contained.toFixed(0)} ms`);
    assert.equal((await a.api.devices.get(d.id)).state, 'quarantined');

    const log = await a.api.mitigations.list({ alertId: alert.id });
    assert.equal(log.items.length, 1);
    const m = log.items[0]!;
    assert.equal(m.state, 'applied');
    assert.equal(m.policyId, policy.id);
    assert.equal(m.actor, `policy:${policy.id}`);
    assert.deepEqual(m.previous, { state: 'active' });
    assert.match(m.summary[0]!, /active → quarantined/);
    const audited = await a.api.audit.list({ action: 'mitigation.applied', target: d.id });
    assert.equal(audited.items.length, 1);
    assert.equal(audited.items[0]!.actorId, `policy:${policy.id}`);

    const released = closedBy(back);
    const reverted = await a.api.mitigations.revert(m.id);
    assert.equal(reverted.state, 'reverted');
    assert.match(reverted.revertedBy ?? '', /^api_key:/);
    await released;
    assert.equal((await a.api.devices.get(d.id)).state, 'active');
    const again = await connect(d);
    assert.equal(await publish(again, topic(), 'after release'), 0);
    const e = await rejectsWith(a.api.mitigations.revert(m.id), 'mitigation_not_reversible');
    assert.match(e.message, /already reverted/);
    assert.equal(
      (await a.api.audit.list({ action: 'mitigation.reverted', target: d.id })).items.length,
      1,
    );
    await a.api.mitigations.policies.delete(policy.id);
  });

  it('a dry-run policy records what it would do; the device stays connected and active', async () => {
    const policy = await a.api.mitigations.policies.create({
      name: 'try it first',
      kinds: ['message_flood'],
      minSeverity: 'medium',
      action: 'quarantine',
      dryRun: true,
    });
    const d = await device('flooder');
    const c = await connect(d);
    const { alert } = await t.hub.services.alerts.raise({
      orgId: a.orgId,
      deviceId: d.id,
      kind: 'message_flood',
      evidence: { observed: 5000 },
    });
    await t.hub.mitigationRunner.idle();
    const [m] = (await a.api.mitigations.list({ alertId: alert.id })).items;
    assert.equal(m?.state, 'dry_run');
    assert.match(m.summary.join('\n'), /would|active → quarantined/);
    assert.equal(m.previous, null);
    assert.equal((await a.api.devices.get(d.id)).state, 'active');
    assert.equal(c.connected, true);
    assert.equal(await publish(c, topic(), 'still here'), 0);
    const e = await rejectsWith(a.api.mitigations.revert(m.id), 'mitigation_not_reversible');
    assert.match(e.message, /dry run changed nothing/);
    // A lower severity than the policy's minimum: nothing recorded.
    const low = await t.hub.services.alerts.raise({
      orgId: a.orgId,
      deviceId: d.id,
      kind: 'message_flood',
      severity: 'low',
      dedupKey: 'low-one',
    });
    await t.hub.mitigationRunner.idle();
    assert.equal((await a.api.mitigations.list({ alertId: low.alert.id })).items.length, 0);
    await a.api.mitigations.policies.delete(policy.id);
  });

  it('a manual revoke: the dry run names the certificate and changes nothing; applied, the session is cut and the certificate refused; no revert', async () => {
    const d = await device('stolen');
    const c = await connect(d);
    const [cert] = await a.api.devices.certificates(d.id);
    const dry = await a.api.mitigations.apply(d.id, {
      action: 'revoke',
      dryRun: true,
      reason: 'key found on a forum',
    });
    assert.equal(dry.state, 'dry_run');
    assert.match(dry.summary.join('\n'), new RegExp(`revoke certificate ${cert!.serial}`));
    assert.equal((await a.api.devices.certificates(d.id))[0]!.revokedAt, null);
    assert.equal(c.connected, true);

    const closed = closedBy(c);
    const m = await a.api.mitigations.apply(d.id, { action: 'revoke', reason: 'key found' });
    assert.equal(m.state, 'applied');
    await closed;
    assert.notEqual((await a.api.devices.certificates(d.id))[0]!.revokedAt, null);
    await assert.rejects(connectTls(t, { ...d.tls, clientId: d.id, connectTimeout: 1500 }));
    const e = await rejectsWith(a.api.mitigations.revert(m.id), 'mitigation_not_reversible');
    assert.match(e.message, /revocation is final/);
    const audited = await a.api.audit.list({ action: 'mitigation.applied', target: d.id });
    assert.equal(audited.items.length, 1);
  });

  it('set desired values, then revert: the values before come back, keys it added go', async () => {
    const d = await a.api.devices.create({ name: 'configured', type: 'sensor' });
    await a.api.twins.patchDesired(d.id, { net: { allow: ['10.0.0.1', '10.0.0.2'], dns: 'x' } });
    const m = await a.api.mitigations.apply(d.id, {
      action: 'set_desired',
      params: { patch: { net: { allow: ['10.0.0.1'] }, lockdown: true } },
      reason: 'tighter allowlist',
    });
    assert.equal(m.state, 'applied');
    let twin = await a.api.twins.get(d.id);
    assert.deepEqual(twin.desired.state, {
      net: { allow: ['10.0.0.1'], dns: 'x' },
      lockdown: true,
    });
    await a.api.mitigations.revert(m.id);
    twin = await a.api.twins.get(d.id);
    assert.deepEqual(twin.desired.state, { net: { allow: ['10.0.0.1', '10.0.0.2'], dns: 'x' } });
    // Bad parameters change nothing.
    await rejectsWith(
      a.api.mitigations.apply(d.id, { action: 'set_desired', params: { patch: 'x' } }),
      'mitigation_invalid',
    );
    await rejectsWith(
      a.api.mitigations.apply(d.id, { action: 'quarantine', params: { extra: 1 } }),
      'mitigation_invalid',
    );
    // One key by id: only that one is revoked; a key it does not have is not found.
    const k1 = await a.api.devices.createKey(d.id);
    const k2 = await a.api.devices.createKey(d.id);
    const one = await a.api.mitigations.apply(d.id, {
      action: 'revoke',
      params: { keyId: k1.deviceKey.id },
    });
    assert.deepEqual(one.summary.slice(0, 1), [`revoke device key ${k1.deviceKey.id}`]);
    const live = (await a.api.devices.keys(d.id)).filter((k) => k.revokedAt === null);
    assert.deepEqual(
      live.map((k) => k.id),
      [k2.deviceKey.id],
    );
    await rejectsWith(
      a.api.mitigations.apply(d.id, { action: 'revoke', params: { keyId: k1.deviceKey.id } }),
      'not_found',
    );
  });

  it("a policy beyond its creator's permissions is refused (403); one whose creator lost them fails and changes nothing", async () => {
    const r = await a.owner.apiKeys.create({
      name: 'narrow',
      permissions: ['devices:read', 'devices:manage'],
    });
    const narrow = t.client(r.key);
    const e = await rejectsWith(
      narrow.mitigations.policies.create({
        name: 'update on flood',
        kinds: ['message_flood'],
        action: 'start_update',
        params: { artifactId: '01900000-0000-7000-8000-000000000000' },
      }),
      'forbidden',
    );
    assert.match(e.message, /start_update action needs the 'firmware:update' permission/);
    assert.equal(e.status, 403);
    const reader = t.client(
      (await a.owner.apiKeys.create({ name: 'reader', permissions: ['devices:read'] })).key,
    );
    await rejectsWith(
      reader.mitigations.policies.create({
        name: 'x',
        kinds: ['message_flood'],
        action: 'notify',
      }),
      'forbidden',
    );
    const d = await device('orphaned-policy');
    await rejectsWith(reader.mitigations.apply(d.id, { action: 'quarantine' }), 'forbidden');
    // Within its creator's permissions; then the creator's key is revoked.
    const policy = await narrow.mitigations.policies.create({
      name: 'contain',
      kinds: ['new_listening_port'],
      minSeverity: 'medium',
      action: 'quarantine',
    });
    await a.owner.apiKeys.revoke(r.apiKey.id);
    const { alert } = await t.hub.services.alerts.raise({
      orgId: a.orgId,
      deviceId: d.id,
      kind: 'new_listening_port',
    });
    await t.hub.mitigationRunner.idle();
    const [m] = (await a.api.mitigations.list({ alertId: alert.id })).items;
    assert.equal(m?.state, 'failed');
    assert.match(m.error ?? '', /revoked or expired/);
    assert.equal((await a.api.devices.get(d.id)).state, 'active');
    await a.api.mitigations.policies.delete(policy.id);
  });

  it('a policy on a location acts on devices there and below, not elsewhere; a notify action raises a notice that triggers nothing', async () => {
    const site = await a.api.locations.create({ name: 'Plant', kind: 'site' });
    const hall = await a.api.locations.create({
      name: 'Hall',
      kind: 'building',
      parentId: site.id,
    });
    const other = await a.api.locations.create({ name: 'Depot', kind: 'site' });
    const policy = await a.api.mitigations.policies.create({
      name: 'plant notices',
      kinds: ['disallowed_connection'],
      minSeverity: 'medium',
      locationId: site.id,
      action: 'notify',
      params: { severity: 'critical', title: 'Plant device talks to a stranger' },
    });
    const inHall = await a.api.devices.create({ name: 'in-hall', type: 's', locationId: hall.id });
    const inDepot = await a.api.devices.create({
      name: 'in-depot',
      type: 's',
      locationId: other.id,
    });
    const nowhere = await a.api.devices.create({ name: 'nowhere', type: 's' });
    const raised: string[] = [];
    for (const d of [inHall, inDepot, nowhere])
      raised.push(
        (
          await t.hub.services.alerts.raise({
            orgId: a.orgId,
            deviceId: d.id,
            kind: 'disallowed_connection',
          })
        ).alert.id,
      );
    await t.hub.mitigationRunner.idle();
    const acted = await Promise.all(
      raised.map(async (alertId) => (await a.api.mitigations.list({ alertId })).items),
    );
    assert.deepEqual(
      acted.map((items) => items.length),
      [1, 0, 0],
    );
    assert.equal(acted[0]![0]!.state, 'applied');
    const notices = await a.api.alerts.list({ kind: 'mitigation_notice', deviceId: inHall.id });
    assert.equal(notices.items.length, 1);
    assert.equal(notices.items[0]!.severity, 'critical');
    assert.equal(notices.items[0]!.title, 'Plant device talks to a stranger');
    await t.hub.mitigationRunner.idle();
    assert.equal((await a.api.mitigations.list({ deviceId: inHall.id })).items.length, 1);
    await a.api.mitigations.policies.delete(policy.id);
  });

  it('a dry run of each action changes nothing: state, credentials, desired twin, alerts', async () => {
    const d = await device('dry-everything');
    const c = await connect(d);
    await a.api.twins.patchDesired(d.id, { mode: 'open' });
    const twinBefore = await a.api.twins.get(d.id);
    const alertsBefore = (await a.api.alerts.list({ deviceId: d.id })).items.length;
    const auditBefore = (await a.api.audit.list({ target: d.id })).items.length;
    for (const body of [
      { action: 'quarantine' as const },
      { action: 'revoke' as const },
      { action: 'set_desired' as const, params: { patch: { mode: 'closed' } } },
      { action: 'notify' as const },
    ]) {
      const m = await a.api.mitigations.apply(d.id, { ...body, dryRun: true });
      assert.equal(m.state, 'dry_run', body.action);
      assert.ok(m.summary.length > 0, body.action);
    }
    assert.equal((await a.api.devices.get(d.id)).state, 'active');
    assert.equal((await a.api.devices.certificates(d.id))[0]!.revokedAt, null);
    assert.deepEqual((await a.api.twins.get(d.id)).desired, twinBefore.desired);
    assert.equal((await a.api.alerts.list({ deviceId: d.id })).items.length, alertsBefore);
    assert.equal(c.connected, true);
    assert.equal(await publish(c, topic(), 'unaffected'), 0);
    // Each dry run is audited (by the service and by the route).
    const dryAudits = await a.api.audit.list({ action: 'mitigation.dry_run', target: d.id });
    assert.equal(dryAudits.items.length, 4);
    assert.ok((await a.api.audit.list({ target: d.id })).items.length > auditBefore);
    // A release of a device that is not quarantined is refused and changes nothing.
    await rejectsWith(a.api.mitigations.apply(d.id, { action: 'release' }), 'conflict');
    const failed = await a.api.mitigations.list({ deviceId: d.id, state: 'failed' });
    assert.equal(failed.items.length, 1);
    assert.match(failed.items[0]!.error ?? '', /not quarantined/);
  });

  it('start an update (needs firmware:update): the revert cancels the open job; a finished job cannot be canceled', async () => {
    const pub = await publisher(a.owner);
    const { artifact } = await pub.artifact('2.0.0', ['pump']);
    const d = await a.owner.devices.create({ name: 'pump-upd', type: 'pump' });
    const refused = await rejectsWith(
      a.api.mitigations.apply(d.id, {
        action: 'start_update',
        params: { artifactId: artifact.id },
      }),
      'forbidden',
    );
    assert.match(refused.message, /'firmware:update'/);
    const dry = await a.owner.mitigations.apply(d.id, {
      action: 'start_update',
      params: { artifactId: artifact.id },
      dryRun: true,
    });
    assert.match(dry.summary[0]!, /start an update job of fw-2\.0\.0/);
    assert.equal((await a.owner.updates.list({ deviceId: d.id })).items.length, 0);
    const m = await a.owner.mitigations.apply(d.id, {
      action: 'start_update',
      params: { artifactId: artifact.id },
    });
    const jobId = String(m.previous?.jobId);
    assert.equal((await a.owner.updates.get(jobId)).state, 'queued');
    await a.owner.mitigations.revert(m.id);
    assert.equal((await a.owner.updates.get(jobId)).state, 'canceled');
    const m2 = await a.owner.mitigations.apply(d.id, {
      action: 'start_update',
      params: { artifactId: artifact.id },
    });
    await a.owner.updates.cancel(String(m2.previous?.jobId));
    const e = await rejectsWith(a.owner.mitigations.revert(m2.id), 'mitigation_not_reversible');
    assert.match(e.message, /is canceled: only a job still queued/);
    assert.equal((await a.owner.mitigations.get(m2.id)).state, 'applied');
  });

  it("another organization's devices, actions and policies answer 404; its alerts never trigger this organization's policies", async () => {
    const d = await device('tenant-a');
    const m = await a.api.mitigations.apply(d.id, { action: 'notify', dryRun: true });
    const policy = await a.api.mitigations.policies.create({
      name: 'a only',
      kinds: ['cloned_certificate'],
      action: 'quarantine',
    });
    await rejectsWith(orgB.api.mitigations.get(m.id), 'not_found');
    await rejectsWith(orgB.api.mitigations.revert(m.id), 'not_found');
    await rejectsWith(orgB.api.mitigations.policies.get(policy.id), 'not_found');
    await rejectsWith(orgB.api.mitigations.policies.delete(policy.id), 'not_found');
    await rejectsWith(
      orgB.api.mitigations.policies.update(policy.id, { enabled: false }),
      'not_found',
    );
    await rejectsWith(orgB.api.mitigations.apply(d.id, { action: 'quarantine' }), 'not_found');
    assert.equal((await orgB.api.mitigations.list({})).items.length, 0);
    // An alert of org B naming org A's device (a confused raiser): B's policy finds no device,
    // A's policy never hears of it.
    await orgB.api.mitigations.policies.create({
      name: 'b',
      kinds: ['cloned_certificate'],
      action: 'quarantine',
    });
    await t.hub.services.alerts.raise({
      orgId: orgB.id,
      deviceId: d.id,
      kind: 'cloned_certificate',
    });
    await t.hub.mitigationRunner.idle();
    assert.equal((await a.api.devices.get(d.id)).state, 'active');
    assert.equal((await a.api.mitigations.list({ deviceId: d.id })).items.length, 1);
    assert.equal((await orgB.api.mitigations.list({})).items.length, 0);
    await a.api.mitigations.policies.delete(policy.id);
  });
});

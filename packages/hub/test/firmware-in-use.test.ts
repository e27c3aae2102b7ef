/**
 * Deleting a firmware artifact that is still in use (decision 0007, "Delete"): an open update job,
 * a running or paused rollout or an auto-upgrade policy → 409 `firmware_artifact_in_use` naming the
 * user, nothing changed; allowed once they are finished, canceled or cleared.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { drive, firmwarePublisher } from './rollout-helpers.js';

describe('deleting a firmware artifact in use', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let pub: Awaited<ReturnType<typeof firmwarePublisher>>;
  let counter = 10;

  // The rollout timer is slow so that rollouts start no jobs unless a test ticks them.
  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    pub = await firmwarePublisher(s.owner);
  });
  after(() => t.close());

  const del = (id: string) =>
    raw(t, 'DELETE', `/firmware/artifacts/${id}`, undefined, s.tokens.accessToken);
  const exists = async (id: string) =>
    (await t.hub.storage.firmware.getArtifact(s.orgId, id)) !== undefined;
  const auditCount = async () =>
    (
      await t.hub.storage.audit.list(
        s.orgId,
        { action: 'firmware.artifact_deleted' },
        { limit: 1000 },
      )
    ).items.length;
  const refused = async (id: string, mentions: string[]) => {
    const before = await auditCount();
    const r = await del(id);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json['code'], 'firmware_artifact_in_use');
    for (const m of mentions) assert.match(String(r.json['detail']), new RegExp(m), r.text);
    assert.ok(await exists(id), 'the artifact is still there');
    assert.equal(await auditCount(), before, 'no delete audited');
    return r;
  };
  const gateway = (name: string) =>
    s.api.devices.create({ name, type: 'gateway', firmwareVersion: '1.0.0' });

  it('an open update job holds its artifact until it finishes or is canceled', async () => {
    const a = await pub.publish('2.0.0', ['gateway'], ++counter);
    const d1 = await gateway('job-1');
    const job = await s.owner.updates.deploy(d1.id, a.id);
    const r = await refused(a.id, ['open update job', job.id, 'cancel']);
    assert.deepEqual(
      (r.json['uses'] as { kind: string; ids: string[] }[]).map((u) => [u.kind, u.ids]),
      [['update_job', [job.id]]],
    );
    // In flight past cancel, still held; succeeded, free again.
    await drive(t, { ...job, orgId: s.orgId }, ['delivered', 'installing']);
    await refused(a.id, [job.id]);
    await drive(t, { ...job, orgId: s.orgId }, ['rebooting', 'succeeded'], { version: '2.0.0' });
    assert.equal((await del(a.id)).status, 204);
    assert.equal(await exists(a.id), false);

    // A canceled job frees it too.
    const b = await pub.publish('2.0.1', ['gateway'], ++counter);
    const d2 = await gateway('job-2');
    const j2 = await s.owner.updates.deploy(d2.id, b.id);
    await refused(b.id, [j2.id]);
    await s.owner.updates.cancel(j2.id);
    assert.equal((await del(b.id)).status, 204);
  });

  it('a running or paused rollout holds its artifact; a canceled one does not', async () => {
    const a = await pub.publish('3.0.0', ['gateway'], ++counter);
    await gateway('ro-1');
    const ro = await s.owner.rollouts.create({ artifactId: a.id, target: { type: 'gateway' } });
    await refused(a.id, ['rollout', ro.id]);
    await s.owner.rollouts.pause(ro.id);
    await refused(a.id, ['rollout', ro.id]);
    await s.owner.rollouts.cancel(ro.id);
    assert.equal((await del(a.id)).status, 204);
  });

  it('an auto-upgrade policy holds its artifact until cleared', async () => {
    const a = await pub.publish('4.0.0', ['sensor'], ++counter);
    await s.owner.firmware.policies.set('sensor', a.id);
    await refused(a.id, ['auto-upgrade policy', 'sensor', 'clear']);
    await s.owner.firmware.policies.clear('sensor');
    assert.equal((await del(a.id)).status, 204);
  });

  it('names every kind of use at once; another artifact is not held', async () => {
    const a = await pub.publish('5.0.0', ['camera'], ++counter);
    const other = await pub.publish('5.0.1', ['camera'], ++counter);
    const cam = await s.api.devices.create({ name: 'cam', type: 'camera' });
    const job = await s.owner.updates.deploy(cam.id, a.id);
    const ro = await s.owner.rollouts.create({ artifactId: a.id, target: { type: 'camera' } });
    await s.owner.firmware.policies.set('camera', a.id);
    const r = await refused(a.id, [job.id, ro.id, 'camera']);
    assert.deepEqual(
      (r.json['uses'] as { kind: string }[]).map((u) => u.kind),
      ['update_job', 'rollout', 'policy'],
    );
    assert.equal((await del(other.id)).status, 204);
    assert.equal((await del(other.id)).json['code'], 'not_found');
  });
});

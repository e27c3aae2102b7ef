/**
 * Firmware update jobs with the real hub (decision 0008): the device is an MQTT.js client with
 * its device key; artifacts are signed with keys generated here and uploaded through the API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { updateTopic, type UpdateInstallOffer } from '@bulwark/protocol';
import { rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { publish } from './mqtt-helpers.js';
import { eventually, publisher, updateDevice } from './updates-helpers.js';

type Owner = Awaited<ReturnType<typeof setupOwner>>;

describe('firmware update jobs', () => {
  let t: TestHub;
  let s: Owner;
  let fw: Awaited<ReturnType<typeof publisher>>;
  const closers: Array<() => void> = [];

  const mkDevice = async (name: string, type = 'gateway') => {
    const d = await s.owner.devices.create({ name, type });
    const { key } = await s.owner.devices.createKey(d.id);
    return { id: d.id, key };
  };
  const online = async (d: { id: string; key: string }) => {
    const dev = await updateDevice(t, d);
    closers.push(dev.end);
    return dev;
  };
  const job = (id: string) => s.owner.updates.get(id);
  const sweep = () => t.hub.brokers.devicePlane.sweep();

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    fw = await publisher(s.owner);
  });
  after(async () => {
    for (const c of closers) c();
    await t.close();
  });

  it('deploy → offer → progress → succeeded; the device says what it runs', async () => {
    const d = await mkDevice('gw-ok');
    const dev = await online(d);
    const { artifact, image } = await fw.artifact('2.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id, { timeoutSeconds: 7200 });
    assert.equal(j.state, 'queued');
    assert.equal(j.origin, 'deploy');
    assert.ok(Number.isInteger(j.actionId) && j.actionId > 0);
    const offer = (await dev.next(j.id)) as UpdateInstallOffer;
    assert.equal(offer.id, j.id);
    assert.equal(offer.artifactId, artifact.id);
    assert.equal(offer.imagePath, `/api/v1/firmware/artifacts/${artifact.id}/image`);
    assert.equal(offer.length, image.byteLength);
    assert.equal(offer.sha256, artifact.sha256);
    assert.deepEqual(JSON.parse(offer.root), fw.root);
    assert.deepEqual(JSON.parse(offer.metadata), artifact.metadata);
    assert.equal(Date.parse(offer.deadline), Date.parse(j.createdAt) + 7200_000);
    await eventually(
      async () => ((await job(j.id)).state === 'delivered' ? true : undefined),
      'delivered',
    );
    // The image path works for the device itself (HTTP Basic with its key).
    const res = await t.fetchWith()(`${t.url}${offer.imagePath}`, {
      headers: { authorization: `Basic ${Buffer.from(`${d.id}:${d.key}`).toString('base64')}` },
    });
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).equals(image), true);

    for (const bytes of [0, 1024, 2048]) {
      assert.equal(
        await dev.report(j.id, { state: 'downloading', progress: { bytes, total: 2048 } }),
        0,
      );
    }
    const downloading = await job(j.id);
    assert.equal(downloading.state, 'downloading');
    assert.deepEqual(downloading.progress, { bytes: 2048, total: 2048 });
    assert.equal(
      downloading.history.filter((h) => h.state === 'downloading').length,
      1,
      'progress does not add history entries',
    );
    const delta = { totalBytes: 2048, downloadedBytes: 512, reusedBytes: 1536 };
    assert.equal(await dev.report(j.id, { state: 'downloaded', delta }), 0);
    assert.equal(await dev.report(j.id, { state: 'installing' }), 0);
    assert.equal(await dev.report(j.id, { state: 'rebooting' }), 0);
    const installed = { type: 'gateway', version: '2.0.0', releaseCounter: 1, slot: 'b' };
    assert.equal(await dev.report(j.id, { state: 'succeeded', installed }), 0);
    const done = await job(j.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.delta, delta);
    assert.deepEqual(
      done.history.map((h) => h.state),
      ['queued', 'delivered', 'downloading', 'downloaded', 'installing', 'rebooting', 'succeeded'],
    );
    const device = await s.owner.devices.get(d.id);
    assert.equal(device.firmwareVersion, '2.0.0');
    assert.equal(device.firmwareType, 'gateway');
    // Terminal sticks: a later report is acknowledged but changes nothing.
    assert.equal(await dev.report(j.id, { state: 'failed', reason: 'boot_failed' }), 0);
    assert.equal((await job(j.id)).state, 'succeeded');
    assert.equal((await job(j.id)).history.length, 7);
    // The device's own report is the source of truth: it now says it runs 1.9.0 (rolled back
    // by hand), and re-deploying 2.0.0 is allowed.
    assert.equal(await dev.installed({ type: 'gateway', version: '1.9.0', releaseCounter: 1 }), 0);
    await eventually(
      async () =>
        (await s.owner.devices.get(d.id)).firmwareVersion === '1.9.0' ? true : undefined,
      'version from the firmware report',
    );
    const again = await s.owner.updates.deploy(d.id, artifact.id);
    assert.equal(again.state, 'queued');
    assert.ok(again.actionId > j.actionId);
    await dev.next(again.id);
    // Audited.
    const audit = await s.owner.call('listAudit', { query: { limit: 100 } });
    assert.ok(audit.items.some((e) => e.action === 'deployUpdate' && e.targetId === d.id));
  });

  it('a refusal before install keeps its reason; backwards and foreign reports change nothing', async () => {
    const d = await mkDevice('gw-reject');
    const dev = await online(d);
    const { artifact } = await fw.artifact('3.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    assert.equal(await dev.report(j.id, { state: 'downloaded' }), 0, 'skipping ahead is allowed');
    assert.equal(await dev.report(j.id, { state: 'downloading' }), 0);
    assert.equal((await job(j.id)).state, 'downloaded', 'a backwards report is ignored');
    // Another device's job id on this device's topic: ignored.
    const other = await mkDevice('gw-other');
    const { artifact: a2 } = await fw.artifact('3.0.1', ['gateway']);
    const oj = await s.owner.updates.deploy(other.id, a2.id);
    assert.equal(await dev.report(oj.id, { state: 'failed', reason: 'busy' }), 0);
    assert.equal((await job(oj.id)).state, 'queued');
    const msg = 'signature by key 1a2b… not in the pinned root';
    assert.equal(
      await dev.report(j.id, { state: 'rejected', reason: 'unknown_key', message: msg }),
      0,
    );
    const rejected = await job(j.id);
    assert.equal(rejected.state, 'rejected');
    assert.equal(rejected.reason, 'unknown_key');
    assert.deepEqual(rejected.history.at(-1), {
      state: 'rejected',
      at: rejected.updatedAt,
      reason: 'unknown_key',
      message: msg,
    });
    assert.equal(await dev.report(j.id, { state: 'succeeded' }), 0);
    assert.equal((await job(j.id)).state, 'rejected', 'terminal sticks');
    // A failure without a reason still gets one.
    const { artifact: a3 } = await fw.artifact('3.0.2', ['gateway']);
    const j3 = await s.owner.updates.deploy(d.id, a3.id);
    await dev.next(j3.id);
    assert.equal(await dev.report(j3.id, { state: 'failed' }), 0);
    assert.equal((await job(j3.id)).history.at(-1)?.reason, 'unspecified');
  });

  it('cancel after delivery is a request the device confirms; while installing it is refused', async () => {
    const d = await mkDevice('gw-cancel');
    const dev = await online(d);
    const { artifact } = await fw.artifact('4.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    await eventually(
      async () => ((await job(j.id)).state === 'delivered' ? true : undefined),
      'delivered',
    );
    const asked = await s.owner.updates.cancel(j.id);
    assert.equal(asked.state, 'delivered', 'the job waits for the device');
    assert.equal(asked.cancelRequested?.by, `user ${s.userId}`);
    assert.deepEqual(
      [asked.history.at(-1)?.event, asked.history.at(-1)?.by],
      ['cancel_requested', `user ${s.userId}`],
    );
    assert.deepEqual(await dev.next(j.id, 'cancel'), { action: 'cancel', id: j.id });
    // Asking again changes nothing (and sends nothing new on this connection).
    assert.deepEqual(await s.owner.updates.cancel(j.id), asked);
    assert.equal(await dev.report(j.id, { state: 'canceled' }), 0);
    const canceled = await job(j.id);
    assert.equal(canceled.state, 'canceled');
    assert.equal(canceled.cancelRequested, null);
    const again = await rejectsWith(s.owner.updates.cancel(j.id), 'update_job_not_cancelable');
    assert.equal(again.status, 409);

    const { artifact: a2 } = await fw.artifact('4.0.1', ['gateway']);
    const j2 = await s.owner.updates.deploy(d.id, a2.id);
    await dev.next(j2.id);
    assert.equal(await dev.report(j2.id, { state: 'installing' }), 0);
    await rejectsWith(s.owner.updates.cancel(j2.id), 'update_job_not_cancelable');
    assert.equal((await job(j2.id)).state, 'installing');
    // Without firmware:update, no cancel and no deploy.
    await rejectsWith(s.api.updates.cancel(j2.id), 'forbidden');
    await rejectsWith(s.api.updates.deploy(d.id, a2.id), 'forbidden');
    assert.equal((await s.api.updates.get(j2.id)).state, 'installing', 'devices:read may read');
    assert.equal(await dev.report(j2.id, { state: 'succeeded' }), 0);
  });

  it('a refused cancel is dropped and the job goes on; what the device reports is recorded', async () => {
    const d = await mkDevice('gw-refuse-cancel');
    const dev = await online(d);
    const { artifact } = await fw.artifact('4.1.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    assert.equal(await dev.report(j.id, { state: 'downloaded' }), 0);
    await s.owner.updates.cancel(j.id);
    await dev.next(j.id, 'cancel');
    const refusal = { state: 'installing', cancel: 'refused', reason: 'too_late', message: 'x' };
    assert.equal(await dev.report(j.id, refusal), 0);
    const going = await job(j.id);
    assert.equal(going.state, 'installing');
    assert.equal(going.cancelRequested, null);
    // A message that moves nothing is kept too.
    assert.equal(await dev.report(j.id, { state: 'downloaded', message: 'late retry note' }), 0);
    const installed = { type: 'gateway', version: '4.1.0', releaseCounter: 1 };
    assert.equal(await dev.report(j.id, { state: 'succeeded', installed }), 0);
    const done = await job(j.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(
      done.history.map((h) => [h.state, h.event ?? null, h.reason ?? null]),
      [
        ['queued', null, null],
        ['delivered', null, null],
        ['downloaded', null, null],
        ['downloaded', 'cancel_requested', null],
        ['downloaded', 'cancel_refused', 'too_late'],
        ['installing', null, null],
        ['installing', 'feedback', null],
        ['succeeded', null, null],
      ],
    );
    assert.equal((await s.owner.devices.get(d.id)).firmwareVersion, '4.1.0');
  });

  it('a device away when the cancel was asked gets the cancel, not the offer, when it connects', async () => {
    const d = await mkDevice('gw-away-cancel');
    const dev = await online(d);
    const { artifact } = await fw.artifact('4.2.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    dev.end();
    await eventually(
      async () => ((await job(j.id)).state === 'delivered' ? true : undefined),
      'delivered',
    );
    await s.owner.updates.cancel(j.id);
    const back = await online(d);
    assert.deepEqual(await back.next(j.id, 'cancel'), { action: 'cancel', id: j.id });
    assert.equal(back.got.filter((o) => o.body.action === 'install').length, 0);
    assert.equal(await back.report(j.id, { state: 'canceled', message: 'not started' }), 0);
    assert.equal((await job(j.id)).state, 'canceled');
  });

  it('a forced cancel ends the job at once, for a device that is gone; it is told when back', async () => {
    const d = await mkDevice('gw-force');
    const dev = await online(d);
    const { artifact } = await fw.artifact('4.3.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    assert.equal(await dev.report(j.id, { state: 'installing' }), 0);
    dev.end();
    await rejectsWith(s.owner.updates.cancel(j.id), 'update_job_not_cancelable');
    const forced = await s.owner.updates.cancel(j.id, { force: true });
    assert.equal(forced.state, 'canceled');
    assert.equal(forced.cancelRequested, null);
    assert.deepEqual(
      [forced.history.at(-1)?.by, forced.history.at(-1)?.reason],
      [`user ${s.userId}`, 'canceled'],
    );
    // The device is free for a new job at once.
    const { artifact: a2 } = await fw.artifact('4.3.1', ['gateway']);
    const j2 = await s.owner.updates.deploy(d.id, a2.id);
    assert.equal(j2.state, 'queued');
    await s.owner.updates.cancel(j2.id);
    // A forced cancel of a delivered job: the device is told to stop when it is back.
    const { artifact: a3 } = await fw.artifact('4.3.2', ['gateway']);
    const back = await online(d);
    const j3 = await s.owner.updates.deploy(d.id, a3.id);
    await back.next(j3.id);
    back.end();
    await eventually(
      async () => ((await job(j3.id)).state === 'delivered' ? true : undefined),
      'delivered',
    );
    await s.owner.updates.cancel(j3.id, { force: true });
    const again = await online(d);
    assert.deepEqual(await again.next(j3.id, 'cancel'), { action: 'cancel', id: j3.id });
    assert.equal(await again.report(j3.id, { state: 'succeeded' }), 0);
    assert.equal((await job(j3.id)).state, 'canceled', 'terminal sticks');
  });

  it('refuses a second open job, a wrong type and an artifact without image; nothing created', async () => {
    const d = await mkDevice('gw-refuse');
    const { artifact } = await fw.artifact('5.0.0', ['gateway']);
    const { artifact: sensorFw } = await fw.artifact('5.0.0', ['sensor']);
    const { artifact: pending } = await fw.artifact('5.0.1', ['gateway'], { pending: true });
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    const open = await rejectsWith(s.owner.updates.deploy(d.id, artifact.id), 'update_job_open');
    assert.equal(open.status, 409);
    await s.owner.updates.cancel(j.id);
    const wrong = await rejectsWith(
      s.owner.updates.deploy(d.id, sensorFw.id),
      'update_incompatible',
    );
    assert.equal(wrong.status, 400);
    const notReady = await rejectsWith(
      s.owner.updates.deploy(d.id, pending.id),
      'firmware_artifact_not_ready',
    );
    assert.equal(notReady.status, 409);
    await rejectsWith(
      s.owner.updates.deploy(d.id, artifact.id, { timeoutSeconds: 31 * 86400 }),
      'validation_failed',
    );
    const jobs = await s.owner.updates.list({ deviceId: d.id });
    assert.deepEqual(
      jobs.items.map((x) => x.id),
      [j.id],
    );
  });

  it('an overdue job times out in the sweep; the device holding it is told', async () => {
    const d = await mkDevice('gw-timeout');
    const dev = await online(d);
    const { artifact } = await fw.artifact('6.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id, { timeoutSeconds: 60 });
    await dev.next(j.id);
    assert.equal(await dev.report(j.id, { state: 'downloading' }), 0);
    await sweep();
    assert.equal((await job(j.id)).state, 'downloading', 'not yet due');
    t.clock.advance(61_000);
    await sweep();
    const timedOut = await job(j.id);
    assert.equal(timedOut.state, 'timed_out');
    assert.equal(timedOut.history.at(-1)?.reason, 'timed_out');
    assert.deepEqual(await dev.next(j.id, 'cancel'), { action: 'cancel', id: j.id });
    assert.equal(await dev.report(j.id, { state: 'succeeded' }), 0);
    assert.equal((await job(j.id)).state, 'timed_out');
  });

  it('an offline device gets its offer when it connects, and again after a reconnect', async () => {
    const d = await mkDevice('gw-offline');
    const { artifact } = await fw.artifact('7.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await sweep();
    assert.equal((await job(j.id)).state, 'queued');
    const dev = await online(d);
    await dev.next(j.id);
    await eventually(
      async () => ((await job(j.id)).state === 'delivered' ? true : undefined),
      'delivered',
    );
    assert.equal(
      await dev.report(j.id, { state: 'downloading', progress: { bytes: 1, total: 2048 } }),
      0,
    );
    dev.end();
    // A restarted device resumes: the offer comes again on its next connection.
    const back = await online(d);
    const offer = await back.next(j.id);
    assert.equal(offer.id, j.id);
    assert.equal((await job(j.id)).state, 'downloading');
  });

  it('a job whose artifact was deleted fails with artifact_missing instead of being offered', async () => {
    const d = await mkDevice('gw-gone');
    const { artifact } = await fw.artifact('7.5.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    // The API refuses to delete an artifact an open job uses (firmware_artifact_in_use); this is
    // the backstop for a delete that races the deployment, so the store deletes it directly.
    assert.ok(await t.hub.storage.firmware.deleteArtifact(s.orgId, artifact.id));
    const dev = await online(d);
    const failed = await eventually(async () => {
      const x = await job(j.id);
      return x.state === 'failed' ? x : undefined;
    }, 'failed');
    assert.equal(failed.reason, 'artifact_missing');
    assert.equal(failed.history.at(-1)?.by, 'hub');
    assert.equal(dev.got.length, 0, 'nothing was offered');
  });

  it('refuses malformed update messages with 0x99 and changes nothing', async () => {
    const d = await mkDevice('gw-bad');
    const dev = await online(d);
    const { artifact } = await fw.artifact('8.0.0', ['gateway']);
    const j = await s.owner.updates.deploy(d.id, artifact.id);
    await dev.next(j.id);
    const before = await job(j.id);
    for (const bad of [
      'not json',
      '[]',
      '{"state":"queued"}',
      '{"state":"timed_out"}',
      '{"state":"done"}',
      '{"state":"downloading","progress":{"bytes":5,"total":1}}',
      '{"state":"downloading","extra":1}',
      '{"state":"failed","reason":"Not A Code"}',
      '{"state":"installing","installed":{"type":"gateway","version":"1","releaseCounter":1}}',
      '{"state":"succeeded","installed":{"type":"gateway"}}',
    ]) {
      assert.equal(await dev.report(j.id, bad), 0x99, bad);
    }
    assert.equal(await dev.installed('{"type":"gateway","version":"1"}'), 0x99);
    assert.equal(await dev.installed('{"type":"gateway","version":"1","releaseCounter":-1}'), 0x99);
    // What the hub sends is not the device's to publish.
    assert.equal(await publish(dev.c, updateTopic.offer(d.id, j.id), '{"action":"cancel"}'), 0x87);
    const after = await job(j.id);
    assert.deepEqual(after, before);
    assert.equal((await s.owner.devices.get(d.id)).firmwareVersion, null);
  });

  it('a job made by the hub itself (auto-upgrade) is audited with its origin', async () => {
    const d = await mkDevice('gw-auto');
    const { artifact } = await fw.artifact('10.0.0', ['gateway']);
    const j = await t.hub.services.updates.deploy(s.orgId, d.id, artifact.id, {
      actor: { type: 'system', id: null },
      origin: 'auto-upgrade',
    });
    assert.equal((await job(j.id)).origin, 'auto-upgrade');
    assert.equal((await job(j.id)).createdBy, 'system');
    const audit = await s.owner.call('listAudit', { query: { limit: 100 } });
    const entry = audit.items.find((e) => e.action === 'update.job.created' && e.targetId === d.id);
    assert.equal(entry?.detail?.['jobId'], j.id);
    assert.equal(entry?.detail?.['origin'], 'auto-upgrade');
  });

  it('lists jobs newest first by device, artifact and state, page by page', async () => {
    const d = await mkDevice('gw-list');
    const { artifact } = await fw.artifact('9.0.0', ['gateway']);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const j = await s.owner.updates.deploy(d.id, artifact.id);
      ids.unshift(j.id);
      await s.owner.updates.cancel(j.id);
    }
    const p1 = await s.owner.updates.list({ deviceId: d.id, limit: 2 });
    assert.deepEqual(
      p1.items.map((x) => x.id),
      ids.slice(0, 2),
    );
    assert.ok(p1.nextCursor);
    const p2 = await s.owner.updates.list({ deviceId: d.id, limit: 2, cursor: p1.nextCursor });
    assert.deepEqual(
      p2.items.map((x) => x.id),
      ids.slice(2),
    );
    assert.equal(p2.nextCursor, null);
    const byArtifact = await s.owner.updates.list({ artifactId: artifact.id, state: 'canceled' });
    assert.equal(byArtifact.items.length, 3);
    assert.equal((await s.owner.updates.list({ deviceId: d.id, state: 'queued' })).items.length, 0);
    const waited = await s.owner.updates.wait(ids[0]!, { timeoutMs: 1000 });
    assert.equal(waited.state, 'canceled');
    await rejectsWith(s.owner.updates.get(d.id), 'not_found');
  });
});

/**
 * hawkBit DDI cancellation (decision 0012): a job the hub ends after the controller took it is shown
 * as cancelAction until the controller answers; one ended while queued, or by the controller's own
 * feedback, is not; the answer is recorded and cannot reopen the job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { raw } from './helpers.js';
import { feedback, link, startDdiFixture, type DdiFixture } from './ddi-fixture.js';

describe('hawkBit DDI cancelAction', () => {
  let f: DdiFixture;
  let dev: { id: string; key: string };

  before(async () => {
    f = await startDdiFixture();
    dev = await f.device('ddi-cancel');
  });
  after(() => f.close());

  it('tells the controller to stop a job the hub canceled after delivery, until it answers', async () => {
    const a = await f.artifact(randomBytes(5_000), 'gw-2.2.0.swu', '2.2.0', 4);
    const api = f.t.hub.services.updates;
    const actor = { type: 'system' as const, id: null };
    // canceled while still queued: the controller never saw it, nothing to tell
    const quiet = await f.deploy(dev.id, a);
    await api.cancel(f.orgId, quiet.id, actor);
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'), undefined);

    const j = await f.deploy(dev.id, a);
    assert.equal(
      (await f.ddi(dev.id, dev.key, 'GET', `/deploymentBase/${j.actionId}`)).status,
      200,
    );
    await api.cancel(f.orgId, j.id, actor);
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'deploymentBase'), undefined);
    assert.match(link(poll.json, 'cancelAction') ?? '', new RegExp(`/cancelAction/${j.actionId}$`));
    const c = await f.ddi(dev.id, dev.key, 'GET', `/cancelAction/${j.actionId}`);
    assert.equal(c.status, 200);
    assert.deepEqual(c.json, {
      id: String(j.actionId),
      cancelAction: { stopId: String(j.actionId) },
    });
    // feedback on the canceled deployment itself is refused: the action is closed
    const late = await f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${j.actionId}/feedback`, {
      body: feedback(j.actionId, 'proceeding'),
    });
    assert.equal(late.status, 410);
    // a bad answer changes nothing; a cancelAction for an action that is not canceled is 404
    const bad = await f.ddi(dev.id, dev.key, 'POST', `/cancelAction/${j.actionId}/feedback`, {
      body: { id: j.actionId, status: { execution: 'closed' } },
    });
    assert.equal(bad.status, 400);
    assert.equal(
      (await f.ddi(dev.id, dev.key, 'GET', `/cancelAction/${quiet.actionId}`)).status,
      404,
    );
    assert.ok(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'));
    const ok = await f.ddi(dev.id, dev.key, 'POST', `/cancelAction/${j.actionId}/feedback`, {
      body: feedback(j.actionId, 'closed', 'success', ['cancellation acknowledged.']),
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'), undefined);
    const job = await f.job(j.id);
    assert.equal(job.state, 'canceled');
    const twin = await raw(f.t, 'GET', `/devices/${dev.id}/twin`, undefined, f.token);
    assert.deepEqual(
      (twin.json['reported'] as { state: { ddi: { cancel: unknown } } }).state.ddi.cancel,
      {
        actionId: j.actionId,
        execution: 'closed',
        finished: 'success',
        message: 'cancellation acknowledged.',
      },
    );
  });

  it('lets the controller cancel a job itself (no cancelAction follows)', async () => {
    const a = await f.artifact(randomBytes(6_000), 'gw-2.3.0.swu', '2.3.0', 5);
    const j = await f.deploy(dev.id, a);
    const r = await f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${j.actionId}/feedback`, {
      body: feedback(j.actionId, 'canceled', 'none', ['user said no']),
    });
    assert.equal(r.status, 200, r.text);
    assert.equal((await f.job(j.id)).state, 'canceled');
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'cancelAction'), undefined);
    assert.equal(link(poll.json, 'deploymentBase'), undefined);
  });

  // Last: it moves the hub's clock.
  it('tells the controller to stop a delivered job the hub timed out', async () => {
    const a = await f.artifact(randomBytes(7_000), 'gw-2.4.0.swu', '2.4.0', 6);
    const api = f.t.hub.services.updates;
    const j = await api.deploy(f.orgId, dev.id, a, {
      actor: { type: 'system', id: null },
      timeoutSeconds: 1,
    });
    assert.equal(
      (await f.ddi(dev.id, dev.key, 'GET', `/deploymentBase/${j.actionId}`)).status,
      200,
    );
    f.t.clock.advance(2000);
    // (the hub's own sweep may get there first; either way the job ends timed_out)
    await api.sweepOverdue();
    assert.equal((await f.job(j.id)).state, 'timed_out');
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.match(link(poll.json, 'cancelAction') ?? '', new RegExp(`/cancelAction/${j.actionId}$`));
    const late = await f.ddi(dev.id, dev.key, 'POST', `/deploymentBase/${j.actionId}/feedback`, {
      body: feedback(j.actionId, 'closed', 'success'),
    });
    assert.equal(late.status, 410);
    assert.equal((await f.job(j.id)).state, 'timed_out');
  });
});

/**
 * hawkBit DDI cancellation (decisions 0012, 0015). A cancel of a delivered job is a request: the
 * job keeps its state and the polling base shows the cancelAction until the controller answers —
 * a confirmation ends it `canceled`, a refusal drops the request and the job goes on, and a
 * success that arrives after the request is recorded as a success. A job the hub ends on its own
 * after delivery (timeout) is shown as cancelAction until answered; the answer cannot reopen it.
 * Every feedback message is kept in the job's history.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { raw } from './helpers.js';
import { feedback, link, startDdiFixture, type DdiFixture } from './ddi-fixture.js';

describe('hawkBit DDI cancelAction', () => {
  let f: DdiFixture;
  let dev: { id: string; key: string };
  const actor = { type: 'user' as const, id: 'u-cancel' };
  let counter = 20;

  before(async () => {
    f = await startDdiFixture();
    dev = await f.device('ddi-cancel');
  });
  after(() => f.close());

  /** A new artifact deployed to the device and fetched by it (delivered). */
  const delivered = async (version: string) => {
    counter++;
    const a = await f.artifact(randomBytes(4_000), `gw-${version}.swu`, version, counter);
    const j = await f.deploy(dev.id, a);
    const got = await f.ddi(dev.id, dev.key, 'GET', `/deploymentBase/${j.actionId}`);
    assert.equal(got.status, 200, got.text);
    return j;
  };
  const post = (path: string, body: unknown) => f.ddi(dev.id, dev.key, 'POST', path, { body });

  it('a cancel of a queued job is immediate: the controller never saw it', async () => {
    const a = await f.artifact(randomBytes(5_000), 'gw-2.2.0.swu', '2.2.0', 4);
    const quiet = await f.deploy(dev.id, a);
    const c = await f.t.hub.services.updates.cancel(f.orgId, quiet.id, actor);
    assert.equal(c.state, 'canceled');
    assert.equal(c.cancelRequested, null);
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'cancelAction'), undefined);
    assert.equal(link(poll.json, 'deploymentBase'), undefined);
    assert.equal(
      (await f.ddi(dev.id, dev.key, 'GET', `/cancelAction/${quiet.actionId}`)).status,
      404,
    );
  });

  it('a cancel after delivery is a request; the controller confirms it → canceled', async () => {
    const j = await delivered('2.3.0');
    const asked = await f.t.hub.services.updates.cancel(f.orgId, j.id, actor);
    assert.equal(asked.state, 'delivered', 'the job keeps its state until the device answers');
    assert.equal(asked.cancelRequested?.by, 'user u-cancel');
    assert.deepEqual(
      { state: asked.history.at(-1)?.state, event: asked.history.at(-1)?.event },
      { state: 'delivered', event: 'cancel_requested' },
    );
    // Asking again changes nothing.
    const again = await f.t.hub.services.updates.cancel(f.orgId, j.id, actor);
    assert.deepEqual(again, asked);
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'deploymentBase'), undefined);
    assert.match(link(poll.json, 'cancelAction') ?? '', new RegExp(`/cancelAction/${j.actionId}$`));
    const c = await f.ddi(dev.id, dev.key, 'GET', `/cancelAction/${j.actionId}`);
    assert.equal(c.status, 200);
    assert.deepEqual(c.json, {
      id: String(j.actionId),
      cancelAction: { stopId: String(j.actionId) },
    });
    // A malformed answer is refused and changes nothing.
    const bad = await post(`/cancelAction/${j.actionId}/feedback`, {
      id: j.actionId,
      status: { execution: 'closed' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await f.job(j.id), asked);
    // "Not yet" (proceeding) answers nothing; its words are kept.
    const wait = await post(
      `/cancelAction/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding', 'none', ['stopping the download']),
    );
    assert.equal(wait.status, 200, wait.text);
    const waiting = await f.job(j.id);
    assert.equal(waiting.state, 'delivered');
    assert.ok(waiting.cancelRequested);
    assert.equal(waiting.history.at(-1)?.message, 'stopping the download');
    const ok = await post(
      `/cancelAction/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success', ['cancellation acknowledged.']),
    );
    assert.equal(ok.status, 200, ok.text);
    const done = await f.job(j.id);
    assert.equal(done.state, 'canceled');
    assert.equal(done.cancelRequested, null);
    assert.deepEqual(
      { reason: done.history.at(-1)?.reason, message: done.history.at(-1)?.message },
      { reason: 'canceled', message: 'cancellation acknowledged.' },
    );
    assert.equal(done.history.at(-1)?.by, undefined, 'ended by the device');
    // Nothing more to do: no link, and the closed action refuses late feedback.
    const after = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(after.json, 'cancelAction'), undefined);
    assert.equal(link(after.json, 'deploymentBase'), undefined);
    const late = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding'),
    );
    assert.equal(late.status, 410);
  });

  it('a refused cancel is dropped and the job goes on; its success is recorded as a success', async () => {
    const j = await delivered('2.4.0');
    const prog = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding', 'none', ['Installing Update Chunk Artifacts.']),
    );
    assert.equal(prog.status, 200);
    await f.t.hub.services.updates.cancel(f.orgId, j.id, actor);
    const no = await post(
      `/cancelAction/${j.actionId}/feedback`,
      feedback(j.actionId, 'rejected', 'none', ['already installing']),
    );
    assert.equal(no.status, 200, no.text);
    const going = await f.job(j.id);
    assert.equal(going.state, 'downloading');
    assert.equal(going.cancelRequested, null);
    assert.deepEqual(
      { event: going.history.at(-1)?.event, message: going.history.at(-1)?.message },
      { event: 'cancel_refused', message: 'already installing' },
    );
    // The polling base offers the deployment again; the cancelAction is gone.
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'cancelAction'), undefined);
    assert.match(link(poll.json, 'deploymentBase') ?? '', new RegExp(`/${j.actionId}\\?c=`));
    assert.equal(
      (
        await post(
          `/cancelAction/${j.actionId}/feedback`,
          feedback(j.actionId, 'closed', 'success'),
        )
      ).status,
      404,
      'no cancel is pending any more',
    );
    const okay = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success', ['Update Installed.']),
    );
    assert.equal(okay.status, 200, okay.text);
    const done = await f.job(j.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(
      done.history.map((h) => [h.state, h.event ?? null]),
      [
        ['queued', null],
        ['delivered', null],
        ['downloading', null],
        ['downloading', 'cancel_requested'],
        ['downloading', 'cancel_refused'],
        ['succeeded', null],
      ],
    );
    const device = await raw(f.t, 'GET', `/devices/${dev.id}`, undefined, f.token);
    assert.equal(device.json['firmwareVersion'], '2.4.0', 'what the device runs now');
  });

  it('a success that arrives while a cancel is pending is recorded as a success', async () => {
    const j = await delivered('2.5.0');
    await f.t.hub.services.updates.cancel(f.orgId, j.id, actor);
    // The controller never answers the request; it finishes the update and says so.
    const okay = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success'),
    );
    assert.equal(okay.status, 200, okay.text);
    const done = await f.job(j.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.cancelRequested, null);
    assert.ok(done.history.some((h) => h.event === 'cancel_requested'));
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'), undefined);
    const device = await raw(f.t, 'GET', `/devices/${dev.id}`, undefined, f.token);
    assert.equal(device.json['firmwareVersion'], '2.5.0');
  });

  it('keeps every feedback message in the history, not only the first of each state', async () => {
    const j = await delivered('2.6.0');
    const lines = [
      ['Installing Update Chunk Artifacts.'],
      ['Verifying signature failed'],
      ['scheduled for the next window'],
    ];
    await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding', 'none', lines[0]),
    );
    await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding', 'none', lines[1]),
    );
    await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'scheduled', 'none', lines[2]),
    );
    await post(`/deploymentBase/${j.actionId}/feedback`, feedback(j.actionId, 'downloaded'));
    // Past `downloading`: a progress line changes no state, but is kept.
    await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'proceeding', 'none', ['still here']),
    );
    const r = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'failure', ['ERROR: install failed']),
    );
    assert.equal(r.status, 200, r.text);
    const done = await f.job(j.id);
    assert.equal(done.state, 'failed');
    const messages = done.history.map((h) => h.message ?? '');
    for (const m of ['Verifying signature failed', 'scheduled for the next window', 'still here'])
      assert.ok(messages.includes(m), `${m} in ${JSON.stringify(messages)}`);
    assert.deepEqual(
      done.history.filter((h) => h.message === 'still here').map((h) => [h.state, h.event]),
      [['downloaded', 'feedback']],
    );
  });

  it('a forced cancel ends the job at once; the controller is shown the cancelAction until it answers', async () => {
    const j = await delivered('2.8.0');
    const forced = await f.t.hub.services.updates.cancel(f.orgId, j.id, actor, { force: true });
    assert.equal(forced.state, 'canceled');
    assert.match(
      link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction') ?? '',
      /cancelAction/,
    );
    const ok = await post(
      `/cancelAction/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success', ['cancellation acknowledged.']),
    );
    assert.equal(ok.status, 200, ok.text);
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'), undefined);
    assert.equal((await f.job(j.id)).state, 'canceled');
  });

  it('lets the controller cancel a job itself (no cancelAction follows)', async () => {
    const j = await delivered('2.7.0');
    const r = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'canceled', 'none', ['user said no']),
    );
    assert.equal(r.status, 200, r.text);
    assert.equal((await f.job(j.id)).state, 'canceled');
    const poll = await f.ddi(dev.id, dev.key, 'GET');
    assert.equal(link(poll.json, 'cancelAction'), undefined);
    assert.equal(link(poll.json, 'deploymentBase'), undefined);
  });

  // Last: it moves the hub's clock.
  it('tells the controller to stop a delivered job the hub timed out; the answer is recorded', async () => {
    const a = await f.artifact(randomBytes(7_000), 'gw-2.9.0.swu', '2.9.0', 6);
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
    const late = await post(
      `/deploymentBase/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success'),
    );
    assert.equal(late.status, 410);
    const ok = await post(
      `/cancelAction/${j.actionId}/feedback`,
      feedback(j.actionId, 'closed', 'success', ['cancellation acknowledged.']),
    );
    assert.equal(ok.status, 200, ok.text);
    assert.equal(link((await f.ddi(dev.id, dev.key, 'GET')).json, 'cancelAction'), undefined);
    assert.equal((await f.job(j.id)).state, 'timed_out', 'the answer cannot reopen it');
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
});

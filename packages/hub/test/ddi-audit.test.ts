/**
 * DDI feedback in the audit log (decision 0012): feedback that moves a job's state is recorded as
 * `update.job.reported` with the device as the actor; progress within `downloading`, feedback the
 * job is already past, acknowledged no-ops and refused feedback are not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { feedback, startDdiFixture, type DdiFixture } from './ddi-fixture.js';

describe('hawkBit DDI feedback in the audit log', () => {
  let f: DdiFixture;
  let artifactId: string;

  before(async () => {
    f = await startDdiFixture();
    artifactId = await f.artifact(randomBytes(4096), 'gw-2.0.0.img', '2.0.0', 2);
  });
  after(() => f.close());

  const reported = async (deviceId: string) =>
    (
      await f.t.hub.storage.audit.list(
        f.orgId,
        { action: 'update.job.reported', actorId: deviceId },
        { limit: 100 },
      )
    ).items
      .reverse()
      .map((e) => ({
        actor: `${e.actorType} ${e.actorId ?? ''}`,
        target: `${e.targetType ?? ''} ${e.targetId ?? ''}`,
        detail: JSON.parse(e.detail ?? '{}') as Record<string, unknown>,
      }));

  it('records each change of state by the controller, and nothing else', async () => {
    const d = await f.device('gw-audit');
    const job = await f.deploy(d.id, artifactId);
    const base = `/deploymentBase/${job.actionId}/feedback`;
    const send = async (body: unknown, status = 200) => {
      const r = await f.ddi(d.id, d.key, 'POST', base, { body });
      assert.equal(r.status, status, r.text);
    };
    await send(feedback(job.actionId, 'scheduled')); // acknowledged, no change
    await send(feedback(job.actionId, 'proceeding', 'none', ['Downloading'])); // → downloading
    await send(feedback(job.actionId, 'proceeding', 'none', ['50%'])); // progress only
    await send(feedback(job.actionId, 'downloaded')); // → downloaded
    await send(feedback(job.actionId, 'proceeding', 'none', ['Installing'])); // already past
    await send({ ...feedback(job.actionId, 'closed', 'success'), id: job.actionId + 1 }, 400);
    await send(feedback(job.actionId, 'closed', 'success')); // → succeeded
    await send(feedback(job.actionId, 'closed', 'failure'), 410); // closed action

    const events = await reported(d.id);
    assert.deepEqual(
      events.map((e) => [e.detail['from'], e.detail['to']]),
      [
        ['queued', 'downloading'],
        ['downloading', 'downloaded'],
        ['downloaded', 'succeeded'],
      ],
    );
    for (const e of events) {
      assert.equal(e.actor, `device ${d.id}`);
      assert.equal(e.target, `device ${d.id}`);
      assert.equal(e.detail['via'], 'ddi');
      assert.equal(e.detail['jobId'], job.id);
      assert.equal(e.detail['actionId'], job.actionId);
      assert.equal(e.detail['artifactId'], artifactId);
    }
    assert.equal((await f.job(job.id)).state, 'succeeded');
  });

  it('records a failure with its reason', async () => {
    const d = await f.device('gw-audit-fail');
    const job = await f.deploy(d.id, artifactId);
    const r = await f.ddi(d.id, d.key, 'POST', `/deploymentBase/${job.actionId}/feedback`, {
      body: feedback(job.actionId, 'closed', 'failure', ['disk full']),
    });
    assert.equal(r.status, 200, r.text);
    const events = await reported(d.id);
    assert.equal(events.length, 1);
    assert.deepEqual(
      [events[0]?.detail['from'], events[0]?.detail['to'], events[0]?.detail['reason']],
      ['queued', 'failed', 'install_failed'],
    );
  });
});

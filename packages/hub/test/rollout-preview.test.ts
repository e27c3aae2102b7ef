/**
 * `POST /rollouts/preview` and `GET /audit/verification` (issue 15, console slice "ops", decision
 * 0038's amendment): a preview answers the devices a rollout would match and the phase sizes with
 * the same refusals as create, stores nothing and starts no job, and sees only the caller's
 * organization; the audit chain's verification is read with `audit:read` only, says intact, and
 * names the first broken row once a row is edited behind the hub's back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { firmwarePublisher } from './rollout-helpers.js';

describe('rollout preview and audit verification', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let v2: { id: string };
  let pending: { id: string };
  const ids: string[] = [];

  before(async () => {
    t = await startTestHub(['--rollout-tick-ms', '60000']);
    s = await setupOwner(t);
    const pub = await firmwarePublisher(s.owner);
    v2 = await pub.publish('2.0.0', ['gateway'], 2);
    pending = (await pub.pending('2.1.0', ['gateway'], 3)).artifact;
    for (let i = 0; i < 5; i++)
      ids.push(
        (
          await s.api.devices.create({
            name: `gw-${i}`,
            type: 'gateway',
            firmwareVersion: i === 0 ? '2.0.0' : '1.0.0',
            tags: i < 3 ? ['line-a'] : ['line-b'],
          })
        ).id,
      );
    await s.api.devices.create({ name: 'sensor-1', type: 'sensor', tags: ['line-a'] });
  });
  after(() => t.close());

  it('previews the matched devices and the phase sizes, storing nothing', async () => {
    const p = await s.owner.rollouts.preview({
      artifactId: v2.id,
      target: { tags: ['line-a'] },
      phases: [{ name: 'canary', count: 1, successGate: 100 }, { percent: 100 }],
    });
    // gw-0..2 match line-a and fit the artifact (the sensor does not); gw-0 is current already.
    assert.equal(p.total, 3);
    assert.equal(p.current, 1);
    assert.equal(p.toUpdate, 2);
    assert.deepEqual(
      p.phases.map((ph) => [ph.name, ph.limit]),
      [
        ['canary', 1],
        [null, 2],
      ],
    );
    assert.deepEqual(p.devices.map((d) => d.id).sort(), ids.slice(0, 3).sort());
    assert.equal(p.devices.find((d) => d.id === ids[0])?.current, true);
    assert.equal(p.truncated, false);
    assert.equal(p.windowOpen, true);
    assert.equal((await s.owner.rollouts.list()).items.length, 0, 'no rollout stored');
    assert.equal((await t.hub.storage.updateJobs.list(s.orgId, { limit: 10 })).length, 0);
  });

  it('says when the window is closed and when it opens', async () => {
    const now = new Date(t.clock.now());
    const hh = (h: number) => String((now.getUTCHours() + h) % 24).padStart(2, '0');
    const p = await s.owner.rollouts.preview({
      artifactId: v2.id,
      target: { type: 'gateway' },
      window: { start: `${hh(2)}:00`, end: `${hh(3)}:00`, timezone: 'UTC' },
    });
    assert.equal(p.windowOpen, false);
    assert.ok(p.nextWindowAt !== null && Date.parse(p.nextWindowAt) > t.clock.now());
  });

  it('refuses what create refuses, with the same codes', async () => {
    await rejectsWith(
      s.owner.rollouts.preview({ artifactId: pending.id, target: { type: 'gateway' } }),
      'firmware_artifact_not_ready',
    );
    await rejectsWith(
      s.owner.rollouts.preview({ artifactId: v2.id, target: { type: 'sensor' } }),
      'rollout_type_mismatch',
    );
    await rejectsWith(
      s.owner.rollouts.preview({
        artifactId: v2.id,
        target: { type: 'gateway' },
        phases: [{ percent: 50 }],
      }),
      'rollout_phases_invalid',
    );
  });

  it('needs firmware:update, and sees nothing of another organization', async () => {
    // The API key of setupOwner has no firmware:update.
    await rejectsWith(
      s.api.rollouts.preview({ artifactId: v2.id, target: { type: 'gateway' } }),
      'forbidden',
    );
    const other = await s.owner.orgs.create({ name: 'Other' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: 'a long and unguessable passphrase',
      organizationId: other.id,
    });
    const o = t.client(tokens.accessToken);
    // Acme's artifact and devices are not there for the other organization.
    await rejectsWith(
      o.rollouts.preview({ artifactId: v2.id, target: { type: 'gateway' } }),
      'not_found',
    );
    await rejectsWith(
      o.rollouts.preview({ artifactId: v2.id, target: { deviceIds: [ids[1]!] } }),
      'not_found',
    );
  });

  it('reports the audit chain intact, to audit:read only', async () => {
    const v = await s.api.audit.verify();
    assert.equal(v.ok, true);
    assert.equal(v.reason, null);
    assert.ok(v.seq > 0);
    const viewer = await s.owner.users.create({
      email: 'viewer@example.com',
      name: 'Vic',
      password: 'a long and unguessable passphrase',
      role: 'viewer',
    });
    assert.ok(viewer.id);
    const vt = await t.client().auth.login({
      email: 'viewer@example.com',
      password: 'a long and unguessable passphrase',
    });
    await rejectsWith(t.client(vt.accessToken).audit.verify(), 'forbidden');
  });

  it('names the first broken row once a row is edited (after the cached minute)', async () => {
    execFileSync('sqlite3', [
      join(t.dir, 'bulwark.db'),
      "UPDATE audit_events SET source = '10.9.9.9' WHERE seq = 2",
    ]);
    // Within the minute the node answers from its last walk.
    assert.equal((await s.api.audit.verify()).ok, true);
    t.clock.advance(61_000);
    const fresh = await s.api.audit.verify();
    assert.equal(fresh.ok, false);
    assert.equal(fresh.seq, 2);
    assert.match(fresh.reason ?? '', /edited/);
  });
});

/**
 * Mitigations in a two-node cluster on PostgreSQL and NATS (decision 0036): an alert raised on
 * node A is mitigated once — by A, whose event it is, not again by B, which hears it too — and the
 * quarantine cuts the device's live session on node B.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();

describe('mitigations in a two-node cluster', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;

  before(async () => {
    ({ a, b } = await startClusterPair(schemas, 'mitigations'));
    s = await setupOwner(b);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('an alert raised on node A is mitigated once, and the device on node B is cut', async (ctx) => {
    const policy = await s.api.mitigations.policies.create({
      name: 'contain',
      kinds: ['cloned_certificate'],
      action: 'quarantine',
    });
    const d = await s.api.devices.create({ name: 'on-b', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    const onB = await connectTls(b, { clientId: d.id, username: d.id, password: key });
    const closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('still connected on B after 2 s')), 2000);
      onB.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const t0 = performance.now();
    const { alert } = await a.hub.services.alerts.raise({
      orgId: s.orgId,
      deviceId: d.id,
      kind: 'cloned_certificate',
    });
    await closed;
    ctx.diagnostic(`alert on A → session on B cut in ${(performance.now() - t0).toFixed(0)} ms`);
    // Let both nodes hear and handle everything, then count.
    await a.hub.services.events.flush();
    await b.hub.services.events.flush();
    await new Promise((r) => setTimeout(r, 300));
    await a.hub.mitigationRunner.idle();
    await b.hub.mitigationRunner.idle();
    const rows = (await s.api.mitigations.list({ alertId: alert.id })).items;
    assert.equal(rows.length, 1, 'mitigated exactly once');
    assert.equal(rows[0]!.policyId, policy.id);
    assert.equal(rows[0]!.state, 'applied');
    assert.equal((await s.api.devices.get(d.id)).state, 'quarantined');
    onB.end(true);
  });
});

/**
 * Mitigations in a two-node cluster on PostgreSQL and NATS (decision 0036): an alert raised on
 * node A is mitigated once — by A, whose event it is, not again by B, which hears it too — and the
 * quarantine cuts the device's live session on node B. A source blocked on node A (block_source)
 * is refused on node B at once, and admitted there again once released on A.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';

/** Polls `ok` every 100 ms for at most 5 s. */
async function until(ok: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting: ${what}`);
}

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

  it('a source blocked on node A is refused on node B; released on A, B admits it again', async (ctx) => {
    const d = await s.api.devices.create({ name: 'behind-the-scanner', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    const from = (localAddress: string) =>
      connectTls(b, {
        clientId: d.id,
        username: d.id,
        password: key,
        ...{ localAddress },
      }).then(
        (c) => (c.end(true), 'admitted'),
        (e: Error) => e.message,
      );
    assert.equal(await from('127.0.0.21'), 'admitted');
    const t0 = performance.now();
    const onA = a.client(s.apiKey);
    const block = await onA.mitigations.blockSource({
      action: 'block_source',
      params: { source: '127.0.0.21', durationSeconds: 300 },
    });
    assert.equal(block.state, 'applied');
    await until(async () => /Banned/i.test(await from('127.0.0.21')), 'refused on B');
    ctx.diagnostic(`blocked on A → refused on B in ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(await from('127.0.0.22'), 'admitted', 'another source is not disturbed');
    await onA.mitigations.revert(block.id);
    await until(async () => (await from('127.0.0.21')) === 'admitted', 'admitted again on B');
  });
});

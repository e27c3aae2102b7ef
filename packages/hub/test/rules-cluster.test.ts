/**
 * Rules on telemetry in a two-node cluster on PostgreSQL and NATS (decision 0035): a rule made on
 * node B reaches node A's evaluator through the `rule.changed` event; a message accepted by node
 * A is evaluated by node A only (every node sees every envelope on the bus, the origin decides),
 * so the rule fires once: one alert action, one command, across the cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requireNats, requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { eventually as poll, setupOwner, startClusterPair, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';

const eventually = <T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> => poll(check, what, { tries: 200, everyMs: 50 });

const skip = (await requirePostgres()) || (await requireNats());
const schemas = withPostgresSchemas();

describe('rules on telemetry in a two-node cluster', { skip, timeout: 60_000 }, () => {
  let a: TestHub;
  let b: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const engine = (t: TestHub) => t.hub.services.ruleEvaluation.engine;

  before(async () => {
    ({ a, b } = await startClusterPair(schemas, 'rules'));
    s = await setupOwner(b);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('a rule made on B fires once, on A, for a message A accepted', async () => {
    const channel = await s.api.channels.create({
      name: 'plant',
      contentType: 'application/senml+json',
    });
    const d = await s.api.devices.create({ name: 'boiler', type: 'boiler' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channel.id, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    const rule = await s.api.rules.create({
      name: 'hot',
      record: 'temp',
      condition: { op: 'gt', value: 80 },
      actions: [{ type: 'alert' }, { type: 'command', name: 'fan.on' }],
    });
    assert.equal(engine(b).evaluator.size, 1, 'B reloads before the call returns');
    await eventually(
      async () => (engine(a).evaluator.size === 1 ? true : undefined),
      "A learning of B's rule",
    );

    const onA = await connectTls(a, { clientId: d.id, username: d.id, password: key });
    try {
      assert.equal(
        await publish(onA, `channels/${channel.id}/messages`, '[{"n":"temp","v":95}]'),
        0,
      );
      await eventually(async () => (engine(a).stats.fired === 1 ? true : undefined), 'A firing');
      // B saw the same envelope on the bus; give it time to (wrongly) act, then check it did not.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(engine(b).stats.matched, 0, 'B evaluates only what B accepted');
      assert.equal(engine(b).stats.fired, 0);
      const cmds = await s.api.call('listCommands', { params: { id: d.id }, query: {} });
      assert.equal(cmds.items.filter((c) => c.name === 'fan.on').length, 1);
      const audited = await s.api.call('listAudit', { query: { action: 'rule.alert' } });
      assert.equal(audited.items.length, 1);
      assert.equal(audited.items[0]?.actorId, rule.id);
    } finally {
      onA.end(true);
    }

    await s.api.rules.disable(rule.id);
    await eventually(
      async () => (engine(a).evaluator.size === 0 ? true : undefined),
      'A dropping the disabled rule',
    );
  });
});

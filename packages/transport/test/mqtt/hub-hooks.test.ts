/**
 * The engine surface the hub's device plane uses: onSubscribed after SUBACK, deliverTo one
 * client, the will flag on onPublish, clean vs unclean onDisconnect, and a refusal's Reason String.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MqttRefusal,
  openModeHooks,
  type ClientIdentity,
  type GrantedSubscription,
  type InboundPublish,
  type MqttHooks,
} from '../../src/mqtt/index.js';
import { collect, connect, startBroker, until } from './helpers.js';

/** Open-mode hooks with recording wrappers. */
function recordingHooks() {
  const base = openModeHooks();
  const log = {
    subscribed: [] as Array<{ id: string; subs: readonly GrantedSubscription[] }>,
    published: [] as InboundPublish[],
    disconnected: [] as Array<{ id: string; reason: string; clean: boolean }>,
  };
  const hooks: MqttHooks = {
    ...base,
    onPublish(c: ClientIdentity, msg: InboundPublish) {
      log.published.push(msg);
      if (msg.topic === 'refuse/me') throw new MqttRefusal(0x99, 'field "x" must be a number');
      return base.onPublish?.(c, msg);
    },
    onSubscribed: (c, subs) => log.subscribed.push({ id: c.id, subs }),
    onDisconnect: (c, reason, info) =>
      log.disconnected.push({ id: c.id, reason, clean: info.clean }),
  };
  return { hooks, log };
}

describe('engine hooks for the hub', () => {
  it('onSubscribed follows the SUBACK; deliverTo reaches only that client, retain flag as given', async () => {
    const { hooks, log } = recordingHooks();
    const b = await startBroker({ hooks });
    try {
      const a = await connect(b.port, { clientId: 'dev-a', protocolVersion: 5 });
      const other = await connect(b.port, { clientId: 'dev-b', protocolVersion: 5 });
      const gotA = collect(a);
      const gotB = collect(other);
      await other.subscribeAsync('plane/#', { qos: 1 });
      assert.equal(
        b.engine.deliverTo('dev-a', { topic: 'plane/x', payload: Buffer.from('no'), qos: 1 }),
        false,
      );
      await a.subscribeAsync('plane/#', { qos: 1 });
      await until(() => log.subscribed.some((s) => s.id === 'dev-a'), 3000, 'onSubscribed');
      assert.deepEqual(log.subscribed.find((s) => s.id === 'dev-a')?.subs, [
        { filter: 'plane/#', qos: 1 },
      ]);
      assert.equal(
        b.engine.deliverTo('dev-a', {
          topic: 'plane/desired',
          payload: Buffer.from('{"v":1}'),
          qos: 1,
          retain: true,
        }),
        true,
      );
      assert.equal(
        b.engine.deliverTo('dev-a', { topic: 'elsewhere', payload: Buffer.from('x'), qos: 1 }),
        false,
      );
      assert.equal(
        b.engine.deliverTo('nobody', { topic: 'plane/x', payload: Buffer.from('x'), qos: 1 }),
        false,
      );
      await until(() => gotA.length === 1, 3000, 'delivery');
      assert.equal(gotA[0]?.topic, 'plane/desired');
      assert.equal(gotA[0]?.retain, true);
      assert.equal(gotA[0]?.qos, 1);
      assert.equal(gotB.length, 0, 'nothing routed to other subscribers');
      assert.equal(b.engine.stats().retained, 0, 'nothing stored as retained');
      await a.endAsync();
      await other.endAsync();
    } finally {
      await b.close();
    }
  });

  it('a resumed session reports the subscriptions it still holds', async () => {
    const { hooks, log } = recordingHooks();
    const b = await startBroker({ hooks });
    try {
      const opts = {
        clientId: 'resume',
        protocolVersion: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      };
      const first = await connect(b.port, opts);
      await first.subscribeAsync('held/#', { qos: 1 });
      await first.endAsync();
      log.subscribed.length = 0;
      const again = await connect(b.port, opts);
      await until(() => log.subscribed.length === 1, 3000, 'onSubscribed on resume');
      assert.deepEqual(log.subscribed[0], { id: 'resume', subs: [{ filter: 'held/#', qos: 1 }] });
      assert.equal(
        b.engine.deliverTo('resume', { topic: 'held/x', payload: Buffer.from('x'), qos: 1 }),
        true,
      );
      await again.endAsync();
    } finally {
      await b.close();
    }
  });

  it('a will is flagged; a lost link is unclean, DISCONNECT is clean', async () => {
    const { hooks, log } = recordingHooks();
    const b = await startBroker({ hooks });
    try {
      const lost = await connect(b.port, {
        clientId: 'lost',
        protocolVersion: 5,
        will: {
          topic: 'presence/lost',
          payload: Buffer.from('{"online":false}'),
          qos: 1,
          retain: false,
        },
      });
      lost.stream.destroy();
      await until(() => log.disconnected.some((d) => d.id === 'lost'), 3000, 'disconnect');
      assert.equal(log.disconnected.find((d) => d.id === 'lost')?.clean, false);
      const will = log.published.find((p) => p.topic === 'presence/lost');
      assert.equal(will?.will, true);
      const polite = await connect(b.port, { clientId: 'polite', protocolVersion: 5 });
      await polite.publishAsync('presence/polite', 'hi', { qos: 1 });
      assert.equal(log.published.find((p) => p.topic === 'presence/polite')?.will, undefined);
      await polite.endAsync();
      await until(() => log.disconnected.some((d) => d.id === 'polite'), 3000, 'disconnect');
      assert.deepEqual(
        log.disconnected.find((d) => d.id === 'polite'),
        {
          id: 'polite',
          reason: 'client_disconnect',
          clean: true,
        },
      );
    } finally {
      await b.close();
    }
  });

  it("a refused publish carries the hook's message as the PUBACK Reason String (v5)", async () => {
    const { hooks } = recordingHooks();
    const b = await startBroker({ hooks });
    try {
      const c = await connect(b.port, { clientId: 'r', protocolVersion: 5 });
      const acks: Array<{ reasonCode?: number; reasonString?: string }> = [];
      c.on('packetreceive', (p) => {
        if (p.cmd === 'puback')
          acks.push({
            ...(p.reasonCode !== undefined ? { reasonCode: p.reasonCode } : {}),
            ...(p.properties?.reasonString ? { reasonString: p.properties.reasonString } : {}),
          });
      });
      await c.publishAsync('refuse/me', 'x', { qos: 1 }).catch(() => undefined);
      await until(() => acks.length === 1, 3000, 'puback');
      assert.deepEqual(acks[0], { reasonCode: 0x99, reasonString: 'field "x" must be a number' });
      await c.endAsync();
    } finally {
      await b.close();
    }
  });
});

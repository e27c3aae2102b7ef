/**
 * Issue 12 item 3 (decision 0020): retained messages and persistent sessions survive a hub
 * restart, on SQLite and on PostgreSQL, through the real hub: a session's subscriptions and the
 * QoS 1 messages published while it was offline are delivered when it comes back; a session
 * whose expiry passed while the hub was down is gone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectCollecting, publishAcked } from './mqtt-state-helpers.js';

const pgSkip = await requirePostgres();
const schemas = withPostgresSchemas();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(
    `MQTT state survives a restart (${backend})`,
    { skip: backend === 'postgres' ? pgSkip : false, timeout: 60_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-mqtt-state-'));
      const extra =
        backend === 'postgres'
          ? ['--database', schemas.url, '--database-schema', schemas.next()]
          : [];
      let t: TestHub;
      let s: Awaited<ReturnType<typeof setupOwner>>;
      let channelId: string;
      const dev: Record<string, { id: string; key: string }> = {};
      const as = (name: string, extraOpts = {}) =>
        connectCollecting(t.hub.info.mqttPort, {
          ca: t.ca,
          clientId: dev[name]!.id,
          username: dev[name]!.id,
          password: dev[name]!.key,
          ...extraOpts,
        });
      const persistent = (seconds: number) => ({
        clean: false,
        properties: { sessionExpiryInterval: seconds },
      });
      const topic = (sub: string) => `channels/${channelId}/messages/${sub}`;

      before(async () => {
        t = await startTestHub(extra, { dir });
        s = await setupOwner(t);
        channelId = (await s.api.call('createChannel', { body: { name: 'state' } })).id;
        for (const name of ['pub', 'keeper', 'brief', 'reader']) {
          const d = await s.api.devices.create({ name, type: 'sensor' });
          const { key } = await s.api.devices.createKey(d.id);
          await s.api.channels.connect(channelId, {
            clientType: 'device',
            clientId: d.id,
            publish: name === 'pub',
            subscribe: name !== 'pub',
          });
          dev[name] = { id: d.id, key };
        }
      });
      after(async () => {
        await t?.close();
        rmSync(dir, { recursive: true, force: true });
      });

      it('keeps the retained message, the subscriptions and the queued QoS 1 messages, and honours expiry', async () => {
        // Two persistent sessions subscribe, then go offline: one for an hour, one for 2 s.
        for (const [name, expiry] of [
          ['keeper', 3600],
          ['brief', 2],
        ] as const) {
          const c = await as(name, persistent(expiry));
          await new Promise<void>((r, j) =>
            c.client.subscribe(topic('#'), { qos: 1 }, (e) => (e ? j(e) : r())),
          );
          await c.end();
        }
        const pub = await as('pub');
        await publishAcked(pub.client, topic('state'), 'retained-1', { qos: 1, retain: true });
        for (const n of [1, 2, 3])
          await publishAcked(pub.client, topic('data'), `q${n}`, { qos: 1 });
        await pub.end();

        // A restart: a new hub process state on the same data dir and database.
        await t.close();
        await sleep(2100); // the 2 s session ends while the hub is down
        t = await startTestHub(extra, { dir });

        const keeper = await as('keeper', persistent(3600));
        try {
          assert.equal(keeper.sessionPresent, true);
          await keeper.until((g) => g.length >= 4, 10_000);
          assert.deepEqual(
            keeper.got.map((m) => m.payload),
            ['retained-1', 'q1', 'q2', 'q3'],
            'the queued messages, in order',
          );
          // Its subscription held across the restart: a new message reaches it too.
          const pub2 = await as('pub');
          await publishAcked(pub2.client, topic('data'), 'after', { qos: 1 });
          await keeper.until((g) => g.some((m) => m.payload === 'after'), 10_000);
          await pub2.end();
        } finally {
          await keeper.end();
        }

        const brief = await as('brief', persistent(60));
        try {
          assert.equal(brief.sessionPresent, false, 'its expiry passed while the hub was down');
          await sleep(300);
          assert.deepEqual(brief.got, []);
        } finally {
          await brief.end();
        }

        // A new subscriber gets the retained message, flagged retained.
        const reader = await as('reader');
        try {
          await new Promise<void>((r, j) =>
            reader.client.subscribe(topic('state'), { qos: 1 }, (e) => (e ? j(e) : r())),
          );
          await reader.until((g) => g.length >= 1, 5000);
          assert.deepEqual(reader.got, [
            { topic: topic('state'), payload: 'retained-1', retain: true },
          ]);
        } finally {
          await reader.end();
        }
      });
    },
  );
}

/**
 * The hub's MQTT hooks under pipelining (decision record 0018): a connection's device-plane
 * reports are state changes, so each is handled after the one before it has finished; channel
 * data is not held behind each other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { hubMqttHooks, type HubClient } from '../../src/messaging/mqtt-hooks.js';
import type { ClientIdentity, InboundPublish } from '../../src/mqtt/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hub MQTT hooks: device-plane reports of one connection in turn', () => {
  it('reports sent without waiting are handled one after another, in order; channel data overlaps', async () => {
    const deviceId = randomUUID();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    let ingesting = 0;
    let maxIngesting = 0;
    const hooks = hubMqttHooks({
      admission: { admit: () => Promise.reject(new Error('not used')) },
      messaging: {
        canPublish: () => Promise.resolve(true),
        canSubscribe: () => Promise.resolve(true),
        ingest: async () => {
          maxIngesting = Math.max(maxIngesting, ++ingesting);
          await sleep(10);
          ingesting--;
          return {} as never;
        },
      },
      devicePlane: {
        publish: async (_c, rest) => {
          maxActive = Math.max(maxActive, ++active);
          log.push(`start ${rest}`);
          // Later reports finish faster: overlapping calls would finish out of order.
          await sleep(rest.endsWith('1') ? 30 : rest.endsWith('2') ? 15 : 1);
          log.push(`end ${rest}`);
          active--;
          if (rest.endsWith('2')) throw new Error('refused');
          return true;
        },
        connected: () => undefined,
        disconnected: () => undefined,
        subscribed: () => undefined,
      },
    });
    const who = { type: 'device', id: deviceId, orgId: 'o' } as unknown as HubClient;
    const c: ClientIdentity = { id: `device:${deviceId}`, principal: who };
    const msg = (topic: string): InboundPublish => ({
      topic,
      payload: new Uint8Array(0),
      qos: 1,
      retain: false,
    });
    const reports = ['1', '2', '3'].map((n) =>
      Promise.resolve(hooks.onPublish!(c, msg(`$devices/${deviceId}/events/${n}`))),
    );
    // A refused report does not stop the ones after it.
    const settled = await Promise.allSettled(reports);
    assert.deepEqual(
      settled.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(maxActive, 1);
    assert.deepEqual(log, [
      `start events/1`,
      `end events/1`,
      `start events/2`,
      `end events/2`,
      `start events/3`,
      `end events/3`,
    ]);
    const channel = randomUUID();
    await Promise.all(
      [1, 2, 3].map(() =>
        Promise.resolve(hooks.onPublish!(c, msg(`channels/${channel}/messages`))),
      ),
    );
    assert.equal(maxIngesting, 3, 'channel data is stored concurrently');
  });
});

/**
 * The names of a channel's clients (decision 0038, amendment "the walk"): read only in the
 * caller's organization, with a bounded number of store calls — one per device up to 200, one walk
 * of the device list (500 a page) above that — and nothing for a client that is gone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionNames } from '../src/messaging/connection-names.js';
import type { ChannelConnection } from '../src/ports/messaging.js';
import type { Storage } from '../src/ports/storage.js';

const ORG = 'org-a';

/** A store of `n` devices in ORG (and one in another organization) that counts its calls. */
function fakeStorage(n: number) {
  const devices = Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    orgId: ORG,
    name: `dev-${i}`,
  }));
  devices.push({ id: 'foreign', orgId: 'org-b', name: 'not yours' });
  const calls = { get: 0, list: 0, keys: 0 };
  const storage = {
    apiKeys: {
      list: async (orgId: string) => {
        calls.keys++;
        return orgId === ORG ? [{ id: 'k1', name: 'ci-reader' }] : [{ id: 'k2', name: 'other' }];
      },
    },
    devices: {
      get: async (orgId: string, id: string) => {
        calls.get++;
        return devices.find((d) => d.orgId === orgId && d.id === id);
      },
      list: async (orgId: string, _f: unknown, page: { limit: number; cursor?: string | null }) => {
        calls.list++;
        const mine = devices.filter((d) => d.orgId === orgId);
        const from = Number(page.cursor ?? 0);
        const items = mine.slice(from, from + page.limit);
        const next = from + page.limit;
        return { items, nextCursor: next < mine.length ? String(next) : null };
      },
    },
  } as unknown as Storage;
  return { storage, calls };
}

const conn = (clientType: 'device' | 'api_key', clientId: string): ChannelConnection => ({
  orgId: ORG,
  channelId: 'c1',
  clientType,
  clientId,
  publish: true,
  subscribe: false,
  createdAt: 0,
});

describe('connectionNames', () => {
  it('names devices and API keys of the organization only, one read per device', async () => {
    const { storage, calls } = fakeStorage(10);
    const names = await connectionNames(storage, ORG, [
      conn('device', 'd3'),
      conn('device', 'foreign'),
      conn('device', 'gone'),
      conn('api_key', 'k1'),
      conn('api_key', 'k2'),
    ]);
    assert.deepEqual([...names].sort(), [
      ['api_key/k1', 'ci-reader'],
      ['device/d3', 'dev-3'],
    ]);
    assert.deepEqual(calls, { get: 3, list: 0, keys: 1 });
  });

  it('walks the device list instead past 200 devices: store calls stay bounded', async () => {
    const { storage, calls } = fakeStorage(1200);
    const conns = Array.from({ length: 300 }, (_, i) => conn('device', `d${i * 4}`));
    const names = await connectionNames(storage, ORG, conns);
    assert.equal(names.size, 300);
    assert.equal(names.get('device/d1196'), 'dev-1196');
    assert.deepEqual(calls, { get: 0, list: 3, keys: 0 });
  });
});

/**
 * `bulwark user grant|ungrant|scopes` (decision 0046): a scoped grant names its permissions and a
 * location (by id or exact name) and/or a tag; without a group nothing is sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '@bulwark/cli';
import { captureIo, fakeHub } from './helpers.js';

const USER = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const LOC = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d20';
const GRANT = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d21';
const grant = {
  id: GRANT,
  permissions: ['firmware:update'],
  locationId: LOC,
  tag: 'pumps',
  grantedBy: USER,
  createdAt: '2026-12-07T00:00:00.000Z',
};
const member = (scopedGrants: unknown[]) => ({
  id: USER,
  email: 'tech@example.com',
  name: 'Tech',
  role: 'viewer',
  grants: [],
  scopedGrants,
  totpEnabled: false,
  createdAt: '2026-12-06T00:00:00.000Z',
});

describe('user scoped-grant commands', () => {
  let hub: Awaited<ReturnType<typeof fakeHub>>;
  const env = () => ({ BULWARK_HUB: hub.url, BULWARK_API_KEY: 'k' });
  before(async () => {
    hub = await fakeHub({
      'GET /api/v1/locations': {
        status: 200,
        body: [
          {
            id: LOC,
            parentId: null,
            kind: 'building',
            name: 'building-3',
            createdAt: '2026-12-07T00:00:00.000Z',
          },
        ],
      },
      [`POST /api/v1/users/${USER}/scoped-grants`]: { status: 201, body: member([grant]) },
      [`DELETE /api/v1/users/${USER}/scoped-grants/${GRANT}`]: { status: 200, body: member([]) },
      'GET /api/v1/users': { status: 200, body: [member([grant])] },
    });
  });
  after(() => hub.close());

  test('grant resolves the location name and sends the permissions, location and tag', async () => {
    const c = captureIo(env());
    const args = ['user', 'grant', USER, '--permission', 'firmware:update'];
    assert.equal(
      await main([...args, '--location', 'building-3', '--tag', 'pumps'], c.io),
      0,
      c.stderr,
    );
    const seen = hub.seen.at(-1)!;
    assert.equal(seen.url, `/api/v1/users/${USER}/scoped-grants`);
    assert.deepEqual(JSON.parse(seen.body), {
      permissions: ['firmware:update'],
      locationId: LOC,
      tag: 'pumps',
    });
    assert.match(c.stdout, /firmware:update/);
    assert.match(c.stdout, new RegExp(GRANT));
  });

  test('grant without a location or a tag is a usage error and sends nothing', async () => {
    const before = hub.seen.length;
    const c = captureIo(env());
    assert.equal(await main(['user', 'grant', USER, '--permission', 'devices:manage'], c.io), 2);
    assert.match(c.stderr, /--location, --tag or both/);
    assert.equal(hub.seen.length, before);
  });

  test('ungrant deletes one grant; scopes lists them', async () => {
    const c = captureIo(env());
    assert.equal(await main(['user', 'ungrant', USER, GRANT], c.io), 0, c.stderr);
    assert.equal(hub.seen.at(-1)!.method, 'DELETE');
    const l = captureIo(env());
    assert.equal(await main(['user', 'scopes', USER, '--json'], l.io), 0, l.stderr);
    assert.deepEqual(JSON.parse(l.stdout), { items: [grant], nextCursor: null });
  });
});

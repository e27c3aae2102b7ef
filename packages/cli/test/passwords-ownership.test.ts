/**
 * Issue 11: `bulwark user password`, `bulwark user reset-password` and `bulwark org
 * transfer-ownership` send what the API expects; passwords come from the environment or a
 * terminal prompt, never a flag.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '@bulwark/cli';
import { captureIo, fakeHub } from './helpers.js';

const ID = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const ME = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1f';
const user = (id: string, email: string, role: string) => ({
  id,
  email,
  name: 'N',
  role,
  grants: [],
  totpEnabled: false,
  createdAt: '2026-12-06T00:00:00.000Z',
});

describe('password and ownership commands', () => {
  let hub: Awaited<ReturnType<typeof fakeHub>>;
  before(async () => {
    hub = await fakeHub({
      'POST /api/v1/me/password': { status: 200, body: { revokedSessions: 2 } },
      [`POST /api/v1/users/${ID}/password`]: { status: 200, body: { revokedSessions: 1 } },
      'POST /api/v1/ownership': {
        status: 200,
        body: {
          owner: user(ID, 'heir@example.com', 'owner'),
          previousOwner: user(ME, 'me@example.com', 'admin'),
        },
      },
    });
  });
  after(() => hub.close());

  test('user password sends the current and the new password from the environment', async () => {
    const c = captureIo({
      BULWARK_HUB: hub.url,
      BULWARK_TOKEN: 'tok',
      BULWARK_PASSWORD: 'the current one',
      BULWARK_NEW_PASSWORD: 'the brand new one',
    });
    assert.equal(await main(['user', 'password'], c.io), 0, c.stderr);
    const seen = hub.seen.at(-1)!;
    assert.equal(seen.url, '/api/v1/me/password');
    assert.deepEqual(JSON.parse(seen.body), {
      currentPassword: 'the current one',
      newPassword: 'the brand new one',
    });
    assert.match(c.stdout, /password changed; 2 other session\(s\) ended/);
  });

  test('user reset-password sends the new password for the member', async () => {
    const c = captureIo({
      BULWARK_HUB: hub.url,
      BULWARK_API_KEY: 'k',
      BULWARK_USER_PASSWORD: 'a reset passphrase',
    });
    assert.equal(await main(['user', 'reset-password', ID, '--json'], c.io), 0, c.stderr);
    assert.deepEqual(JSON.parse(hub.seen.at(-1)!.body), { password: 'a reset passphrase' });
    assert.deepEqual(JSON.parse(c.stdout), { revokedSessions: 1 });
  });

  test('no password flag exists, and without a terminal or environment the command fails', async () => {
    const flag = captureIo({ BULWARK_HUB: hub.url, BULWARK_API_KEY: 'k' });
    assert.equal(await main(['user', 'reset-password', ID, '--password', 'x'], flag.io), 2);
    const c = captureIo({ BULWARK_HUB: hub.url, BULWARK_API_KEY: 'k' });
    const notATerminal = Object.assign(Object.create(process.stdin) as NodeJS.ReadStream, {
      isTTY: false,
    });
    assert.equal(await main(['user', 'reset-password', ID], { ...c.io, stdin: notATerminal }), 1);
    assert.match(c.stderr, /BULWARK_USER_PASSWORD/);
  });

  test('org transfer-ownership names the new owner', async () => {
    const c = captureIo({ BULWARK_HUB: hub.url, BULWARK_TOKEN: 'tok' });
    assert.equal(await main(['org', 'transfer-ownership', ID], c.io), 0, c.stderr);
    assert.deepEqual(JSON.parse(hub.seen.at(-1)!.body), { userId: ID });
    assert.match(
      c.stdout,
      /heir@example\.com now owns the organization; me@example\.com is an admin/,
    );
  });
});

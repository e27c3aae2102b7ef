import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '@bulwark/cli';
import { captureIo, fakeHub } from './helpers.js';

const ID = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const ORG = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1f';
const device = {
  id: ID,
  name: 'pump-1',
  type: 'pump',
  firmwareType: null,
  firmwareVersion: null,
  tags: ['north', 'wet'],
  mode: 'autonomous',
  state: 'active',
  locationId: null,
  lastSeenAt: '2025-03-04T05:06:07.890Z',
  createdAt: '2025-03-04T05:06:07.890Z',
  updatedAt: '2025-03-04T05:06:07.890Z',
};

describe('arguments', () => {
  test('an unknown flag is a usage error: exit 2 with a clear message', async () => {
    const c = captureIo();
    assert.equal(await main(['device', 'list', '--bogus'], c.io), 2);
    assert.match(c.stderr, /^error: unknown option '--bogus'\n/);
    assert.match(c.stderr, /bulwark device list --help/);
    assert.equal(c.stdout, '');
  });

  test('a missing or extra positional argument is a usage error', async () => {
    const a = captureIo();
    assert.equal(await main(['device', 'get'], a.io), 2);
    assert.match(a.stderr, /error: missing ID/);
    const b = captureIo();
    assert.equal(await main(['device', 'get', 'a', 'b'], b.io), 2);
    assert.match(b.stderr, /error: unexpected argument 'b'/);
  });

  test('an unknown command is a usage error', async () => {
    const c = captureIo();
    assert.equal(await main(['frobnicate'], c.io), 2);
    assert.match(c.stderr, /unknown command "frobnicate"\n/);
  });

  test('a bad flag value is a usage error', async () => {
    const c = captureIo({ BULWARK_HUB: 'http://127.0.0.1:1', BULWARK_API_KEY: 'k' });
    assert.equal(await main(['device', 'list', '--state', 'asleep'], c.io), 2);
    assert.match(c.stderr, /--state must be one of provisioned, active/);
    const d = captureIo({ BULWARK_HUB: 'http://127.0.0.1:1', BULWARK_API_KEY: 'k' });
    assert.equal(await main(['device', 'list', '--limit', 'ten'], d.io), 2);
    assert.match(d.stderr, /--limit must be a whole number/);
  });

  test('--help works on every command and group, and --version prints the version', async () => {
    for (const argv of [
      ['device', 'create', '--help'],
      ['api-key', 'list', '-h'],
      ['device', '--help'],
      ['help'],
    ]) {
      const c = captureIo();
      assert.equal(await main(argv, c.io), 0, argv.join(' '));
      assert.match(c.stdout, /bulwark/);
    }
    const c = captureIo();
    assert.equal(await main(['device', 'create', '--help'], c.io), 0);
    assert.match(c.stdout, /--type T/);
    assert.match(c.stdout, /--hub URL/);
    const v = captureIo();
    assert.equal(await main(['--version'], v.io), 0);
    assert.match(v.stdout, /^bulwark \d+\.\d+\.\d+/);
  });

  test('a remote command without credentials says how to set them', async () => {
    const c = captureIo({ BULWARK_HUB: 'http://127.0.0.1:1' });
    assert.equal(await main(['whoami'], c.io), 1);
    assert.match(c.stderr, /no credentials: set BULWARK_API_KEY/);
  });
});

describe('remote commands against a stand-in hub', () => {
  let hub: Awaited<ReturnType<typeof fakeHub>>;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-main-'));
    hub = await fakeHub({
      'GET /api/v1/devices': { status: 200, body: { items: [device], nextCursor: null } },
      [`GET /api/v1/devices/${ID}`]: {
        status: 404,
        type: 'application/problem+json',
        body: { type: 'x', title: 'x', status: 404, detail: 'no such device', code: 'not_found' },
      },
      'POST /api/v1/devices': { status: 201, body: device },
      [`POST /api/v1/devices/${ID}/enrollment-tokens`]: {
        status: 201,
        body: { token: 'tok', deviceId: ID, expiresAt: '2025-03-04T06:06:07.890Z' },
      },
      'POST /api/v1/enroll': {
        status: 201,
        body: {
          deviceId: ID,
          organizationId: ORG,
          serial: 'ab12',
          certificate: 'LEAF\n',
          chain: ['ISSUING\n', 'ROOT\n'],
          hubCa: 'HUB\n',
          notAfter: '2026-03-04T05:06:07.000Z',
        },
      },
      [`GET /api/v1/orgs/${ORG}/crl`]: {
        status: 200,
        type: 'application/x-pem-file',
        body: 'CRL PEM\n',
      },
    });
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ BULWARK_HUB: hub.url, BULWARK_API_KEY: 'bwk_test' });

  test('device list prints a table, --json the raw page', async () => {
    const c = captureIo(env());
    assert.equal(await main(['device', 'list', '--tag', 'north', '--tag', 'wet'], c.io), 0);
    assert.match(c.stdout, /^ID +NAME +TYPE +STATE +MODE +TAGS +LAST SEEN\n/);
    assert.match(c.stdout, /pump-1 +pump +active +autonomous +north,wet +2025-03-04 05:06:07\n$/);
    const seen = hub.seen.at(-1);
    assert.equal(seen?.url, '/api/v1/devices?tag=north&tag=wet');
    assert.equal(seen?.auth, 'Bearer bwk_test');
    const j = captureIo(env());
    assert.equal(await main(['device', 'list', '--json'], j.io), 0);
    assert.deepEqual(JSON.parse(j.stdout), { items: [device], nextCursor: null });
  });

  test('an API error prints `error: <detail> (<code>)` and exits 1', async () => {
    const c = captureIo(env());
    assert.equal(await main(['device', 'get', ID], c.io), 1);
    assert.equal(c.stderr, 'error: no such device (not_found)\n');
  });

  test('an unreachable hub is reported clearly', async () => {
    const closed = await fakeHub({});
    await closed.close();
    const c = captureIo({ BULWARK_HUB: closed.url, BULWARK_API_KEY: 'k' });
    assert.equal(await main(['whoami'], c.io), 1);
    assert.match(
      c.stderr,
      /^error: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(unavailable\)\n/,
    );
    assert.match(c.stderr, /hint: is the hub running/);
  });

  test('crl prints the PEM without credentials', async () => {
    const c = captureIo({ BULWARK_HUB: hub.url });
    assert.equal(await main(['crl', ORG], c.io), 0);
    assert.equal(c.stdout, 'CRL PEM\n');
    assert.equal(hub.seen.at(-1)?.auth, undefined);
  });

  test('device create registers, enrolls a locally made CSR and writes the files', async () => {
    const c = captureIo(env(), dir);
    assert.equal(
      await main(['device', 'create', 'pump-1', '--type', 'pump', '--tag', 'north'], c.io),
      0,
      c.stderr,
    );
    const calls = hub.seen.slice(-3);
    assert.deepEqual(
      calls.map((s) => `${s.method} ${s.url}`),
      [
        'POST /api/v1/devices',
        `POST /api/v1/devices/${ID}/enrollment-tokens`,
        'POST /api/v1/enroll',
      ],
    );
    assert.deepEqual(JSON.parse(calls[0]?.body ?? ''), {
      name: 'pump-1',
      type: 'pump',
      tags: ['north'],
    });
    const enroll = JSON.parse(calls[2]?.body ?? '') as { token: string; csr: string };
    assert.equal(enroll.token, 'tok');
    assert.match(enroll.csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
    assert.equal(calls[2]?.auth, 'Bearer bwk_test');
    const out = join(dir, 'pump-1');
    assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(out, 'key.pem'), 'utf8'), /BEGIN PRIVATE KEY/);
    assert.equal(readFileSync(join(out, 'ca.pem'), 'utf8'), 'ISSUING\nROOT\nHUB\n');
    assert.match(c.stdout, new RegExp(`device +${ID}`));
    assert.match(c.stdout, /serial +ab12/);

    // A second run refuses before registering anything.
    const before = hub.seen.length;
    const again = captureIo(env(), dir);
    assert.equal(await main(['device', 'create', 'pump-1', '--type', 'pump'], again.io), 1);
    assert.match(again.stderr, /refusing to overwrite a device key/);
    assert.equal(hub.seen.length, before);
  });

  test('device enroll uses the token alone', async () => {
    const c = captureIo({ BULWARK_HUB: hub.url }, dir);
    assert.equal(
      await main(['device', 'enroll', '--token', 'tok', '--out', 'dev2', '--json'], c.io),
      0,
      c.stderr,
    );
    assert.equal(hub.seen.at(-1)?.auth, undefined);
    const result = JSON.parse(c.stdout) as { serial: string; files: string[] };
    assert.equal(result.serial, 'ab12');
    assert.equal(result.files.length, 4);
    const info = JSON.parse(readFileSync(join(dir, 'dev2', 'device.json'), 'utf8')) as {
      hubUrl: string;
    };
    assert.equal(info.hubUrl, hub.url);
  });
});

// The CLI as people expect it (issue 13 item 7, decision 0029): one JSON shape for lists, JSON
// errors, typo suggestions, the id and progress on every wait, names where ids are, truthful help.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '@bulwark/cli';
import { captureIo, fakeHub } from './helpers.js';

const DEV = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const DEV2 = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d2e';
const CMD = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d3e';
const RO = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d4e';
const T = '2025-03-04T05:06:07.890Z';
const device = (id: string, name: string) => ({
  id,
  name,
  type: 'pump',
  firmwareType: null,
  firmwareVersion: null,
  tags: [],
  mode: 'controlled',
  state: 'active',
  locationId: null,
  lastSeenAt: null,
  createdAt: T,
  updatedAt: T,
});
const command = (state: string) => ({
  id: CMD,
  deviceId: DEV,
  name: 'reboot',
  params: {},
  state,
  deadline: '2999-01-01T00:00:00.000Z',
  result: null,
  error: null,
  history: [],
  createdAt: T,
  updatedAt: T,
});

type JsonErr = { error: { code: string; message: string } };

let hub: Awaited<ReturnType<typeof fakeHub>>;
const run = async (argv: string[]) => {
  const c = captureIo({ BULWARK_HUB: hub.url, BULWARK_API_KEY: 'bwk_test' });
  const code = await main(argv, c.io);
  return { code, stdout: c.stdout, stderr: c.stderr };
};

before(async () => {
  hub = await fakeHub({
    'GET /api/v1/devices': {
      status: 200,
      body: { items: [device(DEV, 'pump-1'), device(DEV2, 'pump-10')], nextCursor: null },
    },
    [`GET /api/v1/devices/${DEV}`]: { status: 200, body: device(DEV, 'pump-1') },
    'GET /api/v1/api-keys': { status: 200, body: [] },
    [`POST /api/v1/devices/${DEV}/commands`]: { status: 201, body: command('queued') },
    [`GET /api/v1/commands/${CMD}`]: { status: 200, body: command('succeeded') },
    [`GET /api/v1/rollouts/${RO}`]: {
      status: 200,
      body: { id: RO, name: 'r', state: 'paused', pauseReason: 'failure_threshold' },
    },
  });
});
after(() => hub.close());

describe('--json', () => {
  test('every list prints {items, nextCursor}: paged, --all and unpaged alike', async () => {
    for (const argv of [
      ['device', 'list'],
      ['device', 'list', '--all'],
      ['api-key', 'list'],
    ]) {
      const r = await run([...argv, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { items: unknown[]; nextCursor: unknown };
      assert.deepEqual(Object.keys(out), ['items', 'nextCursor'], argv.join(' '));
      assert.ok(Array.isArray(out.items));
      assert.equal(out.nextCursor, null);
    }
  });

  test('errors are {"error":{code,message}} on stderr, with the same exit codes', async () => {
    const usage = await run(['device', 'list', '--bogus', '--json']);
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, '');
    const u = JSON.parse(usage.stderr) as { error: { code: string; message: string } };
    assert.equal(u.error.code, 'usage');
    assert.match(u.error.message, /unknown option '--bogus'/);
    const api = await run(['device', 'get', DEV2, '--json']);
    assert.equal(api.code, 1);
    assert.equal((JSON.parse(api.stderr) as JsonErr).error.code, 'route_not_found');
    const none = captureIo({ BULWARK_HUB: hub.url });
    assert.equal(await main(['device', 'list', '--json'], none.io), 1);
    assert.equal((JSON.parse(none.stderr) as JsonErr).error.code, 'cli_error');
  });
});

describe('typos', () => {
  test('an unknown command, subcommand or flag suggests the closest one', async () => {
    const cases: [string[], RegExp][] = [
      [['devcie', 'list'], /^error: unknown command "devcie"; did you mean "device"\?\n/],
      [['device', 'lsit'], /unknown command "device lsit"; did you mean "device list"\?/],
      [['rollout', 'stauts', RO], /did you mean "rollout status"\?/],
      [['device', 'list', '--stat', 'x'], /unknown option '--stat'; did you mean "--state"\?/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, re);
    }
    // Nothing close: no guess.
    const far = await run(['xyzzy']);
    assert.match(far.stderr, /^error: unknown command "xyzzy"\n/);
  });
});

describe('waiting', () => {
  test('command send --wait prints the id at once, then each new state, then the result', async () => {
    const r = await run(['command', 'send', DEV, 'reboot', '--wait', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', new RegExp(`^command ${CMD}: queued \\(waiting until`));
    assert.equal(lines.at(-1), `command ${CMD}: succeeded`);
    assert.equal((JSON.parse(r.stdout) as { state: string }).state, 'succeeded');
  });

  test('rollout status --watch ends when the rollout is paused (it moves no further alone)', async () => {
    const r = await run(['rollout', 'status', RO, '--watch', '--json', '--timeout', '30']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is paused: failure_threshold; `bulwark rollout resume/);
  });
});

describe('names where ids are', () => {
  test('an exact name resolves through the list; a near one or none is a clear error', async () => {
    const ok = await run(['device', 'get', 'pump-1', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { id: string }).id, DEV);
    assert.ok(hub.seen.some((s) => s.url.startsWith('/api/v1/devices?q=pump-1')));
    const none = await run(['device', 'get', 'pump']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no device named "pump"/);
    assert.doesNotMatch(none.stderr, /must match format/);
    // A command sent by name goes to the device's id.
    const sent = await run(['command', 'send', 'pump-1', 'reboot', '--json']);
    assert.equal(sent.code, 0, sent.stderr);
  });

  test('a name several devices share lists the candidates and changes nothing', async () => {
    const twin = await fakeHub({
      'GET /api/v1/devices': {
        status: 200,
        body: { items: [device(DEV, 'pump'), device(DEV2, 'pump')], nextCursor: null },
      },
    });
    try {
      const c = captureIo({ BULWARK_HUB: twin.url, BULWARK_API_KEY: 'k' });
      assert.equal(await main(['device', 'decommission', 'pump'], c.io), 1);
      assert.match(
        c.stderr,
        new RegExp(`2 devices are named "pump": ${DEV}, ${DEV2}; give the id`),
      );
      assert.deepEqual(
        twin.seen.map((s) => s.method),
        ['GET'],
      );
    } finally {
      await twin.close();
    }
  });
});

describe('help states the truth', () => {
  test('device create states the mode the hub gives a device without --mode', async () => {
    const c = captureIo();
    assert.equal(await main(['device', 'create', '--help'], c.io), 0);
    // core's DeviceService creates devices `controlled` unless asked otherwise.
    assert.match(c.stdout, /--mode M\s+controlled \(the default/);
  });
});

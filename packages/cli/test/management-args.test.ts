/**
 * How the management verbs turn their arguments into requests (against a recording stand-in hub),
 * and how they refuse bad arguments before sending anything.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '@bulwark/cli';
import { captureIo, fakeHub } from './helpers.js';

const DEV = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e';
const CMD = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d2a';
const STUCK = '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d2b';
const AT = '2026-11-24T10:00:00.000Z';
const twin = {
  deviceId: DEV,
  desired: {
    version: 4,
    state: { sampling: { intervalSeconds: 30 }, level: 'debug' },
    updatedAt: AT,
  },
  reported: {
    version: 9,
    desiredVersion: 3,
    state: { sampling: { intervalSeconds: 10 }, level: 'debug', uptime: 5 },
    errors: [{ path: 'level', message: 'not supported' }],
    updatedAt: AT,
  },
  delta: { sampling: { intervalSeconds: 30 } },
  inSync: false,
};
const command = (state: string) => ({
  id: CMD,
  deviceId: DEV,
  name: 'reboot',
  params: { delay: 5 },
  state,
  deadline: '2099-01-01T00:00:00.000Z',
  createdAt: AT,
  updatedAt: AT,
  result: state === 'succeeded' ? { ok: true } : null,
  error: state === 'failed' ? { code: 'unknown_command', message: 'no such command' } : null,
  history: [{ state: 'queued', at: AT }],
});

describe('management verbs: arguments to requests', () => {
  let hub: Awaited<ReturnType<typeof fakeHub>>;
  let env: Record<string, string>;
  before(async () => {
    hub = await fakeHub({
      [`GET /api/v1/devices/${DEV}/twin`]: { status: 200, body: twin },
      [`PATCH /api/v1/devices/${DEV}/twin/desired`]: { status: 200, body: twin },
      'POST /api/v1/devices/bulk/twin': { status: 200, body: { matched: 3, updated: 2 } },
      [`POST /api/v1/devices/${DEV}/commands`]: { status: 201, body: command('queued') },
      'POST /api/v1/devices/bulk/commands': {
        status: 201,
        body: { matched: 1, commandIds: [CMD] },
      },
      [`GET /api/v1/commands/${CMD}`]: { status: 200, body: command('failed') },
      [`GET /api/v1/commands/${STUCK}`]: {
        status: 200,
        body: { ...command('queued'), id: STUCK, deadline: AT },
      },
    });
    env = { BULWARK_HUB: hub.url, BULWARK_API_KEY: 'bwk_test' };
  });
  after(() => hub.close());

  const run = async (argv: string[]) => {
    const c = captureIo(env);
    const code = await main(argv, c.io);
    return { code, stdout: c.stdout, stderr: c.stderr };
  };
  const lastBody = (): unknown => JSON.parse(hub.seen.at(-1)?.body ?? 'null');

  test('twin get shows versions, each setting desired beside reported, the delta and errors', async () => {
    const r = await run(['twin', 'get', DEV]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /in sync\s+no/);
    assert.match(r.stdout, /desired\s+version 4, changed 2026-11-24 10:00:00/);
    assert.match(r.stdout, /reported\s+version 9 answering desired 3/);
    assert.match(r.stdout, /sampling\.intervalSeconds\s+30\s+10\s+pending/);
    assert.match(r.stdout, /level\s+"debug"\s+"debug"\s+-\n/);
    assert.match(r.stdout, /uptime\s+-\s+5\s+-\n/);
    assert.match(r.stdout, /could not apply:\nSETTING\s+ERROR\nlevel\s+not supported/);
    const j = await run(['twin', 'get', DEV, '--json']);
    assert.deepEqual(JSON.parse(j.stdout), twin);
  });

  test('twin set builds a merge patch from dotted paths, JSON-or-text values and null', async () => {
    const r = await run([
      'twin',
      'set',
      DEV,
      'sampling.intervalSeconds=30',
      'logging.level=debug',
      '--set',
      'old=null',
      '--set',
      'logging.port="8080"',
      '--patch',
      '{"network":{"ntp":["a","b"]}}',
      '--if-version',
      '4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hub.seen.at(-1)?.method, 'PATCH');
    assert.deepEqual(lastBody(), {
      patch: {
        network: { ntp: ['a', 'b'] },
        sampling: { intervalSeconds: 30 },
        logging: { level: 'debug', port: '8080' },
        old: null,
      },
      ifVersion: 4,
    });
  });

  test('twin set by tag, type and location sends one bulk patch with the filter', async () => {
    const r = await run([
      'twin',
      'set',
      'a=1',
      '--tag',
      'north',
      '--type',
      'pump',
      '--location',
      DEV,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hub.seen.at(-1)?.url, '/api/v1/devices/bulk/twin');
    assert.deepEqual(lastBody(), {
      filter: { type: 'pump', tag: 'north', location: DEV },
      patch: { a: 1 },
    });
    assert.match(r.stdout, /matched\s+3 devices\nchanged\s+2\n/);
  });

  test('bad settings are usage errors and send nothing', async () => {
    const before = hub.seen.length;
    for (const [argv, message] of [
      [['twin', 'set', DEV], /nothing to change/],
      [['twin', 'set', DEV, 'a=1', '--set', 'a.b=2'], /'a' is set and also has children/],
      [['twin', 'set', DEV, 'a.b=1', '--set', 'a.b=2'], /'a\.b' is set twice/],
      [['twin', 'set', DEV, '.a=1'], /not a dotted path/],
      [['twin', 'set', DEV, '--set', 'novalue'], /'novalue' is not PATH=VALUE/],
      [['twin', 'set', DEV, '--patch', '[1]'], /--patch must be a JSON object/],
      [['twin', 'set', DEV, '--patch', '{x'], /--patch is not JSON/],
      [['twin', 'set', 'a=1'], /missing DEVICE/],
      [['twin', 'set', DEV, 'a=1', '--tag', 'x'], /either DEVICE or --tag/],
      [['twin', 'set', 'a=1', '--tag', 'x', '--if-version', '1'], /--if-version takes one DEVICE/],
      [['twin', 'set', DEV, 'a=1', '--if-version', 'v1'], /--if-version must be a whole number/],
      [['command', 'send', DEV], /missing NAME/],
      [['command', 'send'], /missing DEVICE/],
      [['command', 'send', DEV, 'reboot', '--timeout', '10 min'], /not a duration/],
      [['command', 'send', DEV, 'reboot', '--param', 'x'], /--param 'x' is not KEY=VALUE/],
      [['command', 'send', 'reboot', 'now', '--tag', 'x'], /either DEVICE or --tag/],
      [['command', 'send', 'reboot', '--tag', 'x', '--wait'], /--wait takes one DEVICE/],
      [['command', 'list', DEV, '--state', 'done'], /--state must be one of queued, delivered/],
      [
        ['alerts', 'list', '--state', 'closed'],
        /--state must be one of open, acknowledged, resolved, active/,
      ],
    ] as const) {
      const r = await run([...argv]);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, argv.join(' '));
    }
    assert.equal(hub.seen.length, before, 'nothing was sent');
  });

  test('command send takes params and a duration; bulk sends one request with the filter', async () => {
    const r = await run([
      'command',
      'send',
      DEV,
      'reboot',
      '--param',
      'delay=5',
      '--param',
      'reason=maintenance',
      '--param',
      'opts.force=true',
      '--timeout',
      '1h30m',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lastBody(), {
      name: 'reboot',
      params: { delay: 5, reason: 'maintenance', opts: { force: true } },
      timeoutSeconds: 5400,
    });
    assert.match(r.stdout, /state\s+queued/);
    assert.match(r.stdout, /params\s+\{"delay":5\}/);
    const b = await run(['command', 'send', 'reboot', '--type', 'pump', '--timeout', '90']);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(lastBody(), { filter: { type: 'pump' }, name: 'reboot', timeoutSeconds: 90 });
    assert.match(b.stdout, /matched\s+1 device\nqueued\s+1\n/);
    assert.ok(b.stdout.includes(CMD));
  });

  test('command send --wait polls until a terminal state and exits 1 when the command failed', async () => {
    const r = await run(['command', 'send', DEV, 'reboot', '--wait']);
    assert.equal(r.code, 1);
    assert.equal(hub.seen.at(-1)?.url, `/api/v1/commands/${CMD}`);
    assert.match(r.stdout, /state\s+failed/);
    assert.match(r.stderr, /command .* failed: unknown_command: no such command/);
  });

  test('--wait gives up a little after the deadline, showing the command as last seen', async () => {
    const started = Date.now();
    const r = await run(['command', 'get', STUCK, '--wait']);
    assert.equal(r.code, 1);
    assert.ok(Date.now() - started < 15_000);
    assert.match(r.stdout, /state\s+queued/);
    assert.match(r.stderr, /is still queued after \d+ ms \(its deadline has passed/);
  });
});

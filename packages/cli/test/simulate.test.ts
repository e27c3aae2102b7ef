/**
 * `bulwark simulate --type T --firmware-version V` through the real binary (the command lives in the
 * agent package, which the CLI loads): the help names both flags, a bad value is refused before
 * anything is registered, and a simulated fleet is registered with the type and reports the
 * version, so it can be the target of a rollout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startHub, type ManagedHub } from './management-hub.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/bulwark.js', import.meta.url).pathname;

/** Runs `bulwark simulate ARGS…` as a process; never throws on a non-zero exit. */
async function simulate(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, 'simulate', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, BULWARK_HUB: '', BULWARK_API_KEY: '', BULWARK_CA: '' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

interface Device {
  name: string;
  type: string;
  firmwareVersion: string | null;
}

describe('bulwark simulate --type / --firmware-version', () => {
  let hub: ManagedHub;
  let target: string[];

  before(async () => {
    hub = await startHub();
    target = [
      '--hub',
      hub.runtime.url,
      '--api-key',
      hub.apiKey,
      '--ca',
      hub.runtime.caFile,
      '--mqtt',
      `mqtts://127.0.0.1:${hub.runtime.mqttPort}`,
    ];
  });
  after(() => hub?.close());

  const devices = async () =>
    (await hub.json<{ items: Device[] }>(['device', 'list', '--limit', '100'])).items;

  test('the help names both flags and their defaults', async () => {
    const r = await simulate(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--type T\s+the devices' registered type \(default simulated\)/);
    assert.match(
      r.stdout,
      /--firmware-version V\s+the version the devices report running \(default 1\.0\.0\)/,
    );
  });

  test('a bad type or version is refused with exit 2 before any device is registered', async () => {
    const cases: [string[], RegExp][] = [
      [['--type', 'no spaces'], /--type "no spaces" is not a device type/],
      [['--type=-x'], /--type "-x" is not a device type/],
      [['--type', 'a'.repeat(65)], /is not a device type/],
      [['--firmware-version', ''], /--firmware-version must be 1 to 64 characters/],
      [['--firmware-version', '1'.repeat(65)], /--firmware-version must be 1 to 64 characters/],
      [['--type'], /argument missing|--type/],
    ];
    for (const [flags, message] of cases) {
      const r = await simulate(['--devices', '1', '--prefix', 'bad', ...target, ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: bulwark simulate/);
    }
    assert.deepEqual(
      (await devices()).filter((d) => d.name.startsWith('bad-')),
      [],
      'nothing registered',
    );
  });

  test('the fleet is registered with the type and reports the version', async () => {
    const r = await simulate([
      '--devices',
      '2',
      '--prefix',
      'cam',
      '--type',
      'camera',
      '--firmware-version',
      '2.3.4',
      ...target,
      '--duration',
      '6',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { devices: number; connected: number };
    assert.deepEqual([summary.devices, summary.connected], [2, 2]);
    const fleet = (await devices())
      .filter((d) => d.name.startsWith('cam-'))
      .map((d) => [d.name, d.type, d.firmwareVersion])
      .sort();
    assert.deepEqual(fleet, [
      ['cam-0001', 'camera', '2.3.4'],
      ['cam-0002', 'camera', '2.3.4'],
    ]);
  });
});

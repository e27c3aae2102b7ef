/**
 * `bulwark rollout create|status|list|pause|resume|cancel` and `bulwark firmware current
 * set|status|resume|list|clear` against a real hub process (decision 0011), plus the flag parsers and the status
 * view (bars on a terminal, plain lines otherwise).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, main, resolveConnection } from '@bulwark/cli';
import type { OperationOutput } from '@bulwark/protocol';
import {
  parsePhase,
  parseRate,
  parseThreshold,
  parseWindow,
  renderRollout,
} from '../src/commands/rollout-args.js';
import { captureIo, firmwareSignArgs } from './helpers.js';
import { startHub, type ManagedHub } from './management-hub.js';

type Rollout = OperationOutput<'getRollout'>;

describe('rollout flag parsing and view', () => {
  test('phases, rates, thresholds and windows', () => {
    assert.deepEqual(parsePhase('10%'), { percent: 10 });
    assert.deepEqual(parsePhase('canary=5,gate=90%'), {
      name: 'canary',
      count: 5,
      successGate: 90,
    });
    assert.throws(() => parsePhase('ten'), /--phase/);
    assert.equal(parseRate('30/min'), 30);
    assert.throws(() => parseRate('0/min'), /--rate/);
    assert.deepEqual(parseThreshold('20%:5'), { percent: 20, minDevices: 5 });
    assert.deepEqual(parseThreshold('12.5%'), { percent: 12.5, minDevices: 5 });
    assert.deepEqual(parseThreshold('30%', 2), { percent: 30, minDevices: 2 });
    assert.deepEqual(parseWindow('Mon-Fri 01:00-05:00 UTC'), {
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '01:00',
      end: '05:00',
      timezone: 'UTC',
    });
    assert.deepEqual(parseWindow('Fri-Mon 22:00-04:00 Europe/Berlin').days, [
      'sun',
      'mon',
      'fri',
      'sat',
    ]);
    assert.deepEqual(parseWindow('01:00-05:00'), { start: '01:00', end: '05:00', timezone: 'UTC' });
    assert.throws(() => parseWindow('Someday 01:00-05:00'), /unknown day/);
  });

  test('values the hub would refuse are refused here, naming the flag', () => {
    assert.throws(() => parseWindow('Mon-Fri 25:00-05:00 UTC'), /--window: 25:00 is not a time/);
    assert.throws(() => parseWindow('01:00-05:60'), /--window: 05:60 is not a time/);
    assert.deepEqual(parseWindow('00:00-23:59'), { start: '00:00', end: '23:59', timezone: 'UTC' });
    assert.throws(() => parseThreshold('120%'), /--failure-threshold: 120% is out of range/);
    assert.throws(() => parseThreshold('0%'), /--failure-threshold: 0% is out of range/);
    assert.throws(() => parseThreshold('10%:x'), /the minimum is a device count/);
    assert.throws(() => parseThreshold('10%:1.5'), /the minimum is a device count/);
    assert.deepEqual(parseThreshold('100%:1'), { percent: 100, minDevices: 1 });
    assert.throws(() => parsePhase('0%'), /--phase: 0% is out of range/);
    assert.throws(() => parsePhase('101%'), /--phase: 101% is out of range/);
    assert.throws(() => parsePhase('2000000'), /--phase: expected 10% or a device count/);
    assert.throws(() => parsePhase('10%,gate=101%'), /--phase gate: 101% is out of range/);
    assert.deepEqual(parsePhase('10%,gate=0%'), { percent: 10, successGate: 0 });
    assert.throws(() => parseRate('20000/min'), /--rate: expected N\/min with N from 1 to 10000/);
    assert.equal(parseRate('10000'), 10_000);
  });

  test('status shows bars on a terminal and plain lines otherwise', () => {
    const r = {
      id: 'r1',
      name: 'gw 2.0',
      state: 'running',
      pauseReason: null,
      progress: {
        total: 10,
        current: 0,
        started: 4,
        states: { succeeded: 2, installing: 2 },
        succeeded: 2,
        failed: 0,
        canceled: 0,
        inFlight: 2,
        cancelRequested: 0,
        percentDone: 20,
        currentPhase: 0,
        phases: [
          {
            index: 0,
            name: 'canary',
            limit: 4,
            started: 4,
            succeeded: 2,
            failed: 0,
            inFlight: 2,
            state: 'active',
          },
          {
            index: 1,
            name: null,
            limit: 10,
            started: 0,
            succeeded: 0,
            failed: 0,
            inFlight: 0,
            state: 'pending',
          },
        ],
        windowOpen: true,
        nextEligibleAt: null,
      },
    } as unknown as Rollout;
    const tty = renderRollout(r, true).join('\n');
    assert.match(tty, /overall\s+\[#####\.+\] 20\.0%\s+2\/10 done/);
    assert.match(tty, /phase 1 canary\s*\[############\.+\] 4\/4 started/);
    const plain = renderRollout(r, false).join('\n');
    assert.doesNotMatch(plain, /\[#/);
    assert.match(plain, /^overall: 20\.0% done \(2\/10\)$/m);
    assert.match(plain, /^phase 2: 0\/6 started, 0 succeeded, 0 failed, pending$/m);
  });
});

describe('bulwark rollout against a real hub', { timeout: 120_000 }, () => {
  let hub: ManagedHub;
  let dir: string;
  let artifactId = '';
  const local = async (...argv: string[]) => {
    const c = captureIo({}, dir);
    const code = await main(argv, c.io);
    assert.equal(code, 0, `${argv.join(' ')}: ${c.stderr}`);
  };
  const ok = async (argv: string[]) => {
    const r = await hub.run(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bulwark-rollout-cli-'));
    await writeFile(join(dir, 'fw.img'), Buffer.alloc(20_000, 7));
    await local('keys', 'init', '--dir', 'keys');
    await local(...firmwareSignArgs('gw', '2.0.0', '--out', 'fw.meta.json'));
    hub = await startHub();
    await ok(['firmware', 'root', 'push', join(dir, 'keys', 'root.json')]);
    await ok(['firmware', 'upload', join(dir, 'fw.img'), join(dir, 'fw.meta.json')]);
    artifactId = (await hub.json<{ items: { id: string }[] }>(['firmware', 'list'])).items[0]!.id;
    const api = connect(resolveConnection({}, hub.env, process.cwd()));
    for (const name of ['gw-1', 'gw-2', 'gw-3'])
      await api.devices.create({ name, type: 'gw', firmwareVersion: '1.0.0' });
  });
  after(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('create, follow, pause, resume, list and cancel', async () => {
    const bad = await hub.run(['rollout', 'create', artifactId, '--type', 'gw', '--phase', '50%']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rollout_phases_invalid/);
    const usage = await hub.run(['rollout', 'create', artifactId, '--rate', 'fast']);
    assert.equal(usage.code, 2);

    const created = await hub.json<Rollout>([
      'rollout',
      'create',
      artifactId,
      '--type',
      'gw',
      '--phase',
      'canary=1,gate=100%',
      '--phase',
      '100%',
      '--max-concurrent',
      '2',
      '--rate',
      '10/min',
      '--failure-threshold',
      '50%:2',
      '--window',
      'Sat,Sun 22:00-04:00 Europe/Berlin',
      '--name',
      'gw to 2.0',
    ]);
    assert.equal(created.state, 'running');
    assert.deepEqual(created.phases, [
      { name: 'canary', count: 1, successGate: 100 },
      { percent: 100 },
    ]);
    assert.deepEqual(created.window, {
      days: ['sun', 'sat'],
      start: '22:00',
      end: '04:00',
      timezone: 'Europe/Berlin',
    });
    assert.equal(created.progress?.total, 3);

    const status = await ok(['rollout', 'status', created.id]);
    assert.match(status.stdout, /^overall: 0\.0% done \(0\/3\)$/m);
    assert.match(status.stdout, /^phase 1 canary: \d\/1 started/m);

    const paused = await hub.json<Rollout>(['rollout', 'pause', created.id, '--reason', 'lunch']);
    assert.equal(paused.state, 'paused');
    assert.equal(paused.pauseReason, 'lunch');
    const twice = await hub.run(['rollout', 'pause', created.id]);
    assert.match(twice.stderr, /rollout_state_conflict/);
    assert.equal((await hub.json<Rollout>(['rollout', 'resume', created.id])).state, 'running');

    const list = await hub.json<{ items: Rollout[] }>(['rollout', 'list', '--state', 'running']);
    assert.deepEqual(
      list.items.map((r) => r.id),
      [created.id],
    );
    const table = await ok(['rollout', 'list']);
    assert.match(table.stdout, /gw to 2\.0\s+\S+\s+running/);

    // --watch in a pipe prints plain lines and ends when the rollout is canceled (bounded).
    const watching = hub.run([
      'rollout',
      'status',
      created.id,
      '--watch',
      '--interval',
      '1',
      '--timeout',
      '30',
    ]);
    await sleep(1500);
    assert.equal((await hub.json<Rollout>(['rollout', 'cancel', created.id])).state, 'canceled');
    const w = await watching;
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /running/);
    assert.match(w.stdout, /canceled/);
  });

  test('bad ids and out-of-range flags are usage errors; nothing is created', async () => {
    const cases: [string[], RegExp][] = [
      [['bogus', '--type', 'gw'], /ARTIFACT "bogus" is not an id .*bulwark firmware list/],
      [[artifactId, '--device', 'gw-1'], /--device "gw-1" is not an id .*bulwark device list/],
      [[artifactId, '--location', 'hall'], /--location "hall" is not an id/],
      [[artifactId, '--type', 'gw', '--window', 'Mon 24:00-01:00'], /24:00 is not a time/],
      [[artifactId, '--type', 'gw', '--failure-threshold', '150%'], /150% is out of range/],
      [[artifactId, '--type', 'gw', '--max-concurrent', '0'], /--max-concurrent must be from 1/],
      [[artifactId, '--type', 'gw', '--max-concurrent', '10001'], /--max-concurrent must be/],
    ];
    for (const [args, message] of cases) {
      const r = await hub.run(['rollout', 'create', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /see `bulwark rollout create --help`/);
    }
    const set = await hub.run(['firmware', 'current', 'set', 'gw', 'v2']);
    assert.equal(set.code, 2);
    assert.match(set.stderr, /ARTIFACT "v2" is not an id/);
    const unknown = await hub.run([
      'rollout',
      'create',
      '01890000-0000-7000-8000-000000000000',
      '--type',
      'gw',
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no such firmware artifact \(not_found\)/);
    const running = await hub.json<{ items: Rollout[] }>(['rollout', 'list', '--state', 'running']);
    assert.deepEqual(running.items, []);
    assert.deepEqual(
      (await hub.json<{ items: unknown[] }>(['firmware', 'current', 'list'])).items,
      [],
    );
  });

  test('--watch that runs out of time says so', async () => {
    const r = await hub.json<Rollout>(['rollout', 'create', artifactId, '--type', 'gw']);
    const w = await hub.run([
      'rollout',
      'status',
      r.id,
      '--watch',
      '--interval',
      '1',
      '--timeout',
      '1',
    ]);
    assert.equal(w.code, 1);
    assert.match(
      w.stderr,
      new RegExp(`rollout ${r.id} is still running; stopped watching after 1 s`),
    );
    // While it runs it holds its artifact (decision 0007).
    const del = await hub.run(['firmware', 'delete', artifactId]);
    assert.equal(del.code, 1);
    assert.match(
      del.stderr,
      new RegExp(`running or paused rollout\\(s\\) ${r.id}.*firmware_artifact_in_use`),
    );
    await ok(['rollout', 'cancel', r.id]);
  });

  test('firmware current set with limits, status, resume; bad flags refused', async () => {
    const bad: [string[], RegExp][] = [
      [['--max-concurrent', '0'], /--max-concurrent must be from 1/],
      [['--rate', '0/min'], /--rate: expected N\/min/],
      [['--failure-threshold', '150%'], /150% is out of range/],
      [['--window', 'Mon 24:00-01:00'], /24:00 is not a time/],
    ];
    for (const [flags, message] of bad) {
      const r = await hub.run(['firmware', 'current', 'set', 'gw', artifactId, ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /see `bulwark firmware current set --help`/);
    }
    const zone = await hub.run([
      'firmware',
      'current',
      'set',
      'gw',
      artifactId,
      '--window',
      '01:00-02:00 Mars/Base',
    ]);
    assert.equal(zone.code, 1);
    assert.match(zone.stderr, /unknown time zone Mars\/Base \(rollout_window_invalid\)/);
    assert.deepEqual(
      (await hub.json<{ items: unknown[] }>(['firmware', 'current', 'list'])).items,
      [],
      'nothing set by a refused request',
    );

    const set = await ok([
      'firmware',
      'current',
      'set',
      'gw',
      artifactId,
      '--max-concurrent',
      '3',
      '--rate',
      '6/min',
      '--failure-threshold',
      '25%',
      '--window',
      'Sat,Sun 02:00-04:00 UTC',
    ]);
    assert.match(set.stdout, /gw: current is 2\.0\.0/);
    assert.match(
      set.stdout,
      /limits: 3 in flight, 6\/min, window sun,sat 02:00-04:00 UTC \((open|closed)\), pause at 25% failures once 2 finished/,
    );
    assert.match(set.stdout, /state: active/);
    const status = await hub.json<OperationOutput<'getFirmwarePolicy'>>([
      'firmware',
      'current',
      'status',
      'gw',
    ]);
    assert.equal(status.maxConcurrent, 3);
    assert.equal(status.ratePerMinute, 6);
    assert.deepEqual(status.failureThreshold, { percent: 25, minDevices: 2 });
    assert.equal(status.progress.inFlight, 0);
    const resume = await hub.run(['firmware', 'current', 'resume', 'gw']);
    assert.equal(resume.code, 1);
    assert.match(resume.stderr, /is active, not paused \(rollout_state_conflict\)/);
    // A bare set takes the defaults again: 2 at a time, 20% once 2 finished.
    const bare = await hub.json<OperationOutput<'getFirmwarePolicy'>>([
      'firmware',
      'current',
      'set',
      'gw',
      artifactId,
    ]);
    assert.equal(bare.maxConcurrent, 2);
    assert.equal(bare.ratePerMinute, null);
    assert.equal(bare.window, null);
    assert.deepEqual(bare.failureThreshold, { percent: 20, minDevices: 2 });
    const table = await ok(['firmware', 'current', 'list']);
    assert.match(table.stdout, /TYPE\s+VERSION\s+STATE\s+IN FLIGHT\s+SUCCEEDED\s+FAILED\s+NEXT/);
    assert.match(table.stdout, /gw\s+2\.0\.0\s+active\s+0\/2\s+0\s+0\s+now/);
  });

  test('firmware current set, list and clear', async () => {
    const set = await ok(['firmware', 'current', 'set', 'gw', artifactId]);
    assert.match(set.stdout, /gw: current is 2\.0\.0/);
    const held = await hub.run(['firmware', 'delete', artifactId]);
    assert.equal(held.code, 1);
    assert.match(held.stderr, /auto-upgrade policy of device type\(s\) gw/);
    const list = await hub.json<{ items: { type: string; version: string }[] }>([
      'firmware',
      'current',
      'list',
    ]);
    assert.deepEqual(
      list.items.map((p) => [p.type, p.version]),
      [['gw', '2.0.0']],
    );
    await ok(['firmware', 'current', 'clear', 'gw']);
    const again = await hub.run(['firmware', 'current', 'clear', 'gw']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not_found/);
  });
});

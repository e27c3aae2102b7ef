/**
 * Simulated attacks (decision 0037) against a real hub: each one has the effect at the hub it
 * claims — refused connects counted as auth failures from one source, a second session with the
 * device's certificate from another address, the flood's messages stored, the backdoor port in
 * the device's reported metrics, the C2 address in its reported events, the old firmware version
 * on its record.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DomainEvent } from '@bulwark/core';
import { Simulator } from '../src/sim/simulator.js';
import { parseAttackSpec, type AttackEnded, type AttackStarted } from '../src/sim/attacks.js';
import { BIN } from './process-helpers.js';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const run = promisify(execFile);

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('simulator attacks', () => {
  let t: TestHub;
  let sim: Simulator | undefined;
  const seen: DomainEvent[] = [];
  let owner: Awaited<ReturnType<typeof setupOwner>> | undefined;

  before(async () => {
    t = await startTestHub();
    t.hub.services.events.listen((e) => seen.push(e));
  });
  after(async () => {
    await sim?.stop();
    await t.close();
  });

  it('parses KIND[:COUNT] and refuses anything else', () => {
    assert.deepEqual(parseAttackSpec('flood'), { kind: 'flood', count: 1 });
    assert.deepEqual(parseAttackSpec('cloned-cert:3'), { kind: 'cloned-cert', count: 3 });
    assert.throws(() => parseAttackSpec('rootkit'), /kind must be one of password-guess/);
    assert.throws(() => parseAttackSpec('flood:0'), /COUNT must be a whole number/);
    assert.throws(() => parseAttackSpec('flood:2:3'), /kind must be one of/);
  });

  it('each attack has its effect at the hub; normal devices are left alone', async () => {
    const s = (owner = await setupOwner(t));
    const channelId = (await s.api.call('createChannel', { body: { name: 'attacks' } })).id;
    const announced: (AttackStarted | AttackEnded)[] = [];
    const fleet = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      apiKey: s.apiKey,
      devices: 8,
      prefix: 'atk',
      backoffMinMs: 100,
      backoffMaxMs: 500,
      telemetry: { channelId, intervalMs: 60_000 },
      attacks: [
        'password-guess',
        'cloned-cert',
        'flood',
        'backdoor-port',
        'c2-connection',
        'unpatched',
      ].map((k) => parseAttackSpec(k)),
      attackAfterMs: 200,
      attackTuning: { guesses: 8, guessIntervalMs: 20, cloneHoldMs: 3000, floodMessages: 300 },
      onAttack: (e) => announced.push(e),
    });
    sim = fleet;
    await fleet.start();
    await fleet.waitConnected(8, 30_000);
    const by = (kind: string) => fleet.devices.find((d) => d.attack === kind)!;
    // The last device makes the first attack; the first two are normal.
    assert.equal(fleet.devices.find((d) => d.name === 'atk-0008')!.attack, 'password-guess');
    assert.equal(fleet.devices.filter((d) => d.attack === undefined).length, 2);
    const t0 = Date.now();
    await fleet.startAttacks();
    assert.ok(Date.now() - t0 >= 200, 'the attacks wait --attack-after');

    // Announced: one start and one end per attack, the start before the end.
    const starts = announced.filter((e): e is AttackStarted => e.event === 'attack_started');
    assert.equal(starts.length, 6);
    for (const e of starts) {
      const d = fleet.devices.find((x) => x.deviceId === e.deviceId)!;
      assert.equal(d.attack, e.attack);
      assert.ok(Date.parse(e.startedAt) >= t0 + 200);
    }
    const ended = (kind: string) =>
      announced.find((e): e is AttackEnded => e.event === 'attack_ended' && e.attack === kind)!
        .result;

    // password-guess: every connect refused, each a counted auth failure from 127.0.0.3 (until
    // the source is locked, which is refused without being told again).
    const guesser = by('password-guess');
    assert.deepEqual(ended('password-guess'), { attempts: 8, refused: 8, source: '127.0.0.3' });
    await t.hub.services.events.flush();
    const failures = seen.filter(
      (e) => e.type === 'auth.failed' && e.subject === `device:${guesser.deviceId}`,
    );
    assert.ok(failures.length >= 3, `${failures.length} auth failures`);
    for (const e of failures) {
      assert.equal(e.type === 'auth.failed' && e.source, '127.0.0.3');
      assert.equal(e.type === 'auth.failed' && e.transport, 'mqtt');
    }

    // cloned-cert: sessions of the same device from 127.0.0.1 and 127.0.0.2 took each other over.
    const cloned = by('cloned-cert');
    assert.ok(Number(ended('cloned-cert')['sessions']) >= 1);
    const takeovers = seen.filter(
      (e) => e.type === 'device.session_taken_over' && e.deviceId === cloned.deviceId,
    );
    assert.ok(takeovers.length >= 1, 'a session was taken over');
    const sources = new Set(
      takeovers.flatMap((e) =>
        e.type === 'device.session_taken_over' ? [e.source, e.previousSource] : [],
      ),
    );
    assert.deepEqual([...sources].sort(), ['127.0.0.1', '127.0.0.2']);

    // flood: all 300 messages accepted by the agent and stored at the hub.
    const flooder = by('flood');
    assert.equal(ended('flood')['sent'], 300);
    assert.ok(Number(ended('flood')['seconds']) >= 1, 'paced at 200/s, not all at once');
    await until('the flood stored', async () => {
      let n = 0;
      let cursor: string | undefined;
      do {
        const page = await s.api.call('listMessages', {
          params: { id: channelId },
          query: { publisher: flooder.deviceId, limit: 200, ...(cursor ? { cursor } : {}) },
        });
        n += page.items.length;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return n >= 300 ? n : undefined;
    });

    // backdoor-port: 4444 among the listening ports the device reported.
    const backdoor = by('backdoor-port');
    await until('port 4444 reported', async () => {
      const p = await s.api.call('getPresence', { params: { id: backdoor.deviceId } });
      return p.metrics?.listeningPorts.includes(4444) ? true : undefined;
    });
    // c2-connection: the outside address reported as a disallowed connection, never connected.
    const c2 = by('c2-connection');
    const c2Event = await until('the C2 connection reported', async () => {
      const page = await s.api.call('listDeviceEvents', { params: { id: c2.deviceId }, query: {} });
      return page.items.find((e) => e.kind === 'connection_not_allowed');
    });
    assert.equal(c2Event.detail['remoteAddress'], '203.0.113.66');
    assert.equal(c2Event.detail['remotePort'], 443);
    // unpatched: its record shows the old version; the others the fleet's.
    const old = by('unpatched');
    await until('the old version on record', async () => {
      const d = await s.api.devices.get(old.deviceId);
      return d.firmwareVersion === '0.9.0' ? true : undefined;
    });
    const normal = fleet.devices.find((d) => d.attack === undefined)!;
    await until('the normal version on record', async () => {
      const d = await s.api.devices.get(normal.deviceId);
      return d.firmwareVersion === '1.0.0' ? true : undefined;
    });
    // The normal devices reported no extra port and no disallowed connection.
    for (const d of fleet.devices.filter((x) => x.attack === undefined)) {
      const events = await s.api.call('listDeviceEvents', {
        params: { id: d.deviceId },
        query: {},
      });
      assert.ok(!events.items.some((e) => e.kind === 'connection_not_allowed'));
      assert.ok(
        !seen.some((e) => e.type === 'auth.failed' && e.subject === `device:${d.deviceId}`),
      );
    }
    // The fleet is connected again after the clone gave up.
    await fleet.waitConnected(8, 15_000);
  });

  it('bulwark simulate --attack prints each start and end as a JSON line, after --attack-after', async () => {
    const s = owner ?? (owner = await setupOwner(t));
    const t0 = Date.now();
    const r = await run(process.execPath, [
      BIN,
      'simulate',
      '--devices',
      '3',
      '--prefix',
      'cliatk',
      '--hub',
      t.url,
      '--api-key',
      s.apiKey,
      '--ca',
      t.caFile,
      '--mqtt',
      `mqtts://127.0.0.1:${t.mqttPort}`,
      '--attack',
      'backdoor-port',
      '--attack',
      'c2-connection',
      '--attack-after',
      '1',
      '--duration',
      '6',
      '--json',
    ]);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.find((l) => l['event'] === undefined)!;
    assert.deepEqual([summary['devices'], summary['connected']], [3, 3]);
    const started = lines.filter((l) => l['event'] === 'attack_started');
    assert.deepEqual(started.map((l) => [l['attack'], l['device']]).sort(), [
      ['backdoor-port', 'cliatk-0003'],
      ['c2-connection', 'cliatk-0002'],
    ]);
    for (const l of started) assert.ok(Date.parse(l['startedAt'] as string) >= t0 + 1000);
    const ended = lines.filter((l) => l['event'] === 'attack_ended');
    assert.deepEqual(
      ended
        .map((l) => l['result'])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [{ port: 4444 }, { remote: '203.0.113.66:443' }],
    );
    const backdoor = started.find((l) => l['attack'] === 'backdoor-port')!;
    const p = await s.api.call('getPresence', { params: { id: backdoor['deviceId'] as string } });
    assert.ok(p.metrics?.listeningPorts.includes(4444));
  });

  it('the CLI refuses a bad --attack and a flood without a channel before registering anything', async () => {
    const env = {
      ...process.env,
      BULWARK_HUB: t.url,
      BULWARK_API_KEY: 'bwk_x',
      BULWARK_CA: t.caFile,
    };
    await assert.rejects(
      run(process.execPath, [BIN, 'simulate', '--devices', '2', '--attack', 'rootkit'], { env }),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /kind must be one of/.test(err.stderr),
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'simulate', '--devices', '2', '--attack', 'flood'], { env }),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /flood attack needs --channel/.test(err.stderr),
    );
    await assert.rejects(
      run(process.execPath, [BIN, 'simulate', '--devices', '1', '--attack', 'unpatched:2'], {
        env,
      }),
      (err: { code: number; stderr: string }) =>
        err.code === 2 && /need 2 devices/.test(err.stderr),
    );
  });
});

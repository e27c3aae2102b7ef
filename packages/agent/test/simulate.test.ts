import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Simulator } from '../src/sim/simulator.js';
import { BIN } from './process-helpers.js';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const run = promisify(execFile);

describe('simulator: many agents in one process', () => {
  let t: TestHub;
  let sim: Simulator;
  let owner: Awaited<ReturnType<typeof setupOwner>> | undefined;
  const setupOwnerOnce = async () => (owner ??= await setupOwner(t));

  before(async () => {
    t = await startTestHub();
  });
  after(async () => {
    await sim?.stop();
    await t.close();
  });

  it('registers, enrolls and connects N devices, and all reconnect after a hub restart', async () => {
    const s = await setupOwnerOnce();
    const channelId = (await s.api.call('createChannel', { body: { name: 'sim' } })).id;
    sim = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      apiKey: s.apiKey,
      devices: 20,
      backoffMinMs: 100,
      backoffMaxMs: 1000,
      telemetry: { channelId, intervalMs: 200 },
    });
    await sim.start();
    await sim.waitConnected(20, 30_000);
    assert.deepEqual(sim.devices.map((d) => d.name).slice(0, 2), ['sim-0001', 'sim-0002']);
    const before = sim.handshakes();
    await t.restart();
    const ms = await sim.waitConnected(20, 30_000);
    assert.ok(ms >= 0);
    // The hub's ticket keys outlive it: the reconnects resume their TLS sessions (decision 0022).
    const after = sim.handshakes();
    assert.ok(after.connects - before.connects >= 20);
    assert.ok(
      after.resumed - before.resumed >= 20,
      `${after.resumed - before.resumed} of ${after.connects - before.connects} resumed`,
    );
    // Telemetry goes out every 200 ms; the first after the restart may still be on its way.
    let stored = 0;
    for (let i = 0; i < 50 && stored === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      stored = (await s.api.call('listMessages', { params: { id: channelId }, query: {} })).items
        .length;
    }
    assert.ok(stored > 0, 'telemetry flows');
  });

  it('with --log-lines-per-minute every device ships log lines, its secrets redacted', async () => {
    const s = await setupOwnerOnce();
    const logSim = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      apiKey: s.apiKey,
      devices: 5,
      prefix: 'logsim',
      backoffMinMs: 100,
      backoffMaxMs: 1000,
      logLinesPerMinute: 1200, // one line per device every 50 ms
    });
    try {
      await logSim.start();
      await logSim.waitConnected(5, 30_000);
      const lines = async (id: string) =>
        (await s.api.devices.logs(id, { source: 'sim:app', order: 'oldest', limit: 500 })).items;
      for (const d of logSim.devices) {
        let got: Awaited<ReturnType<typeof lines>> = [];
        for (let i = 0; i < 100 && got.length < 8; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 100));
          got = await lines(d.deviceId);
        }
        assert.ok(got.length >= 8, `${d.name}: ${got.length} lines`);
        const secret = got.find((r) => r.message.includes('password='));
        assert.ok(secret, 'a line that carried a password');
        assert.match(secret.message, /password=\[REDACTED\]$/);
        assert.ok(
          got.every((r) => r.message.includes(d.name)),
          'each device its own lines',
        );
      }
      const agentLog = await s.api.devices.logs(logSim.devices[0]!.deviceId, { source: 'agent' });
      assert.ok(
        agentLog.items.some((r) => r.message.startsWith('connected to')),
        "the agent's own log too",
      );
    } finally {
      await logSim.stop();
    }
  });

  it('bulwark simulate --devices N prints how many connected', async () => {
    const { apiKey } = await setupOwnerOnce();
    const r = await run(process.execPath, [
      BIN,
      'simulate',
      '--devices',
      '3',
      '--prefix',
      'cli',
      '--hub',
      t.url,
      '--api-key',
      apiKey,
      '--ca',
      t.caFile,
      '--mqtt',
      `mqtts://127.0.0.1:${t.mqttPort}`,
      '--duration',
      '5',
      '--json',
    ]);
    const summary = JSON.parse(r.stdout) as { devices: number; connected: number };
    assert.deepEqual([summary.devices, summary.connected], [3, 3]);
  });

  it('a reboot command restarts that device agent on its own files', async () => {
    const d = sim.devices[0]!;
    const before = d.agent;
    const s = d.system;
    await before.commands.handle(
      'reboot-1',
      new TextEncoder().encode(
        JSON.stringify({
          id: 'reboot-1',
          name: 'reboot',
          params: {},
          deadline: new Date(Date.now() + 60_000).toISOString(),
        }),
      ),
    );
    assert.equal(s.reboots, 1);
    assert.notEqual(d.agent, before);
    await d.agent.whenConnected(10_000);
    assert.equal(d.agent.deviceId, d.deviceId);
  });
});

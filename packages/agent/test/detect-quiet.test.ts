/**
 * Issue 14's goal for detection (decision 0034): no alert on a normal simulated fleet with the
 * default rules. 200 simulated devices — the real agent code, enrolled with certificates, sending
 * telemetry at a steady rate and their health metrics — run for twenty minutes of hub time (the
 * hub's clock moves 10 s every half second of real time, so the timers jitter against the
 * buckets): ten minutes of learning, then ten judged against the learned baselines. Not one rule
 * fires, and every device has learned its own baseline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent } from '@bulwark/core';
import { DETECT_RULE_IDS } from '@bulwark/protocol';
import { Simulator } from '../src/sim/simulator.js';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';

/** 200 in the suite; the 1,000 with BULWARK_DETECT_QUIET_DEVICES=1000 (a few minutes). */
const DEVICES = Number(process.env['BULWARK_DETECT_QUIET_DEVICES'] ?? 200);

describe('detection on a normal simulated fleet', () => {
  let t: TestHub;
  let sim: Simulator | undefined;

  before(async () => {
    t = await startTestHub();
  });
  after(async () => {
    await sim?.stop();
    await t.close();
  });

  it(`${DEVICES} normal devices raise no alert, learning or judged`, async () => {
    const s = await setupOwner(t);
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const { key } = await t.client(tokens.accessToken).apiKeys.create({
      name: 'secops',
      permissions: ['audit:read', 'detect:manage', 'devices:read'],
    });
    const secops = t.client(key);
    // The defaults, but a ten-minute learning period so the run judges after it.
    await secops.detect.updateRule('message_flood', { learningMinutes: 10 });
    await secops.detect.updateRule('new_listening_port', { learningMinutes: 10 });
    const fired: DomainEvent[] = [];
    t.hub.services.events.listen((e) => {
      if (e.type === 'detect.fired') fired.push(e);
    });
    const channelId = (
      await s.api.call('createChannel', { body: { name: 'fleet', persisted: false } })
    ).id;
    sim = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      apiKey: s.apiKey,
      devices: DEVICES,
      concurrency: 8,
      telemetry: { channelId, intervalMs: 1000 },
    });
    await sim.start();
    await sim.waitConnected(DEVICES, DEVICES * 600);
    const engine = t.hub.services.detect.engine;
    // 120 steps of 10 s of hub time, one every 500 ms: each device publishes about every other
    // step, never in lockstep with the buckets.
    for (let step = 0; step < 120; step++) {
      await new Promise((r) => setTimeout(r, 500));
      t.clock.advance(10_000);
      await engine.tick();
    }
    assert.deepEqual(fired, []);
    const detectKinds = new Set<string>(DETECT_RULE_IDS);
    const alerts = (await secops.alerts.list({ limit: 500 })).items.filter((a) =>
      detectKinds.has(a.kind),
    );
    assert.deepEqual(alerts, []);
    assert.equal(engine.size.devices, DEVICES);
    // Judged, not merely silent: the devices learned their own band.
    const view = await secops.detect.device(sim.devices[0]!.deviceId);
    const flood = view.metrics.find((m) => m.ruleId === 'message_flood')!;
    assert.equal(flood.basis, 'device', JSON.stringify(flood));
    assert.ok(flood.baseline!.samples >= 10);
    assert.ok(view.counters['connects']! >= 0);
  });
});

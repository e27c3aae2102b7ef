/**
 * Detection (decision 0034), socket-free on a fake clock: the bucketed counters, the robust
 * baseline (silent while learning, fires on a real step, quiet on noisy-but-normal traffic, its
 * evidence), the group fallback, suppression / cool-down / auto-resolve, every default rule, and
 * baselines surviving a restart through the store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUCKET_MS,
  Baseline,
  BucketCounter,
  DETECT_RULES,
  Gates,
  bandOf,
  checkRuleUpdate,
  mad,
  median,
  type DomainEventOf,
} from '@bulwark/core';
import { seeded, testEngine } from './detect-helpers.js';

const ORG = 'org-a';

describe('bucketed counters', () => {
  it('sum a sliding window of 10 s buckets and forget what is older than their span', () => {
    const c = new BucketCounter(6);
    const t0 = 1_000_000 * BUCKET_MS;
    c.add(t0, 3);
    c.add(t0 + 5_000, 2); // same bucket
    c.add(t0 + 10_000);
    assert.equal(c.sliding(t0 + 10_000, 60_000), 6);
    assert.equal(c.sliding(t0 + 10_000, 10_000), 1);
    // 70 s later the first bucket is out of a 60 s window, and out of the ring after that.
    assert.equal(c.sliding(t0 + 60_000, 60_000), 1);
    c.add(t0 + 70_000, 4); // reuses the first bucket's slot
    assert.equal(c.sumBuckets(t0 / BUCKET_MS, t0 / BUCKET_MS), 0);
    assert.equal(c.sliding(t0 + 70_000, 70_000), 5);
  });

  it('grow keeps what they remember', () => {
    const c = new BucketCounter(2);
    const t0 = 500 * BUCKET_MS;
    c.add(t0, 1);
    c.add(t0 + 10_000, 2);
    c.grow(30);
    assert.equal(c.span, 30);
    c.add(t0 + 20_000, 3);
    assert.equal(c.sliding(t0 + 20_000, 300_000), 6);
  });
});

describe('robust statistics', () => {
  it('median, MAD and the band with its minimum deviation', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(mad([1, 2, 3, 4, 100]), 1);
    // MAD 0 (a flat metric): the band is the minimum deviation wide, not zero.
    assert.deepEqual(bandOf({ median: 10, mad: 0 }, 6, 5), { low: 5, high: 15 });
    const b = bandOf({ median: 10, mad: 2 }, 3, 1);
    assert.ok(Math.abs(b.high - (10 + 3 * 2 * 1.4826)) < 1e-9);
  });

  it('one outlier in the history moves neither the median nor the MAD much', () => {
    const b = new Baseline({ s: [10, 11, 9, 10, 12, 10, 9, 11, 10, 10], f: 0 });
    const before = b.stats();
    b.push(5000);
    const after = b.stats();
    assert.equal(after.median, before.median);
    assert.ok(after.mad <= before.mad + 0.5);
  });

  it('a baseline is learned only after its learning time and enough windows', () => {
    const b = new Baseline({ s: [1, 2, 3], f: 0 });
    assert.equal(b.learned(3_600_000, 60_000), false); // too few windows
    for (let i = 0; i < 10; i++) b.push(2);
    assert.equal(b.learned(30_000, 60_000), false); // too soon
    assert.equal(b.learned(60_000, 60_000), true);
    assert.deepEqual(Baseline.parse(JSON.stringify(b.toData()))?.samples, b.samples);
    assert.equal(Baseline.parse('{"s":"x"}'), undefined);
  });
});

describe('gates: suppression, cool-down, auto-resolve', () => {
  const ev = { metric: 'm', windowSeconds: 60, observed: 1, expected: { low: null, high: 0 } };
  const target = { orgId: ORG, deviceId: 'd1' };
  const timing = () => ({ resolveMs: 60_000, cooldownMs: 300_000 });

  it('fires once, holds while breached, resolves after quiet, stays quiet through the cool-down', () => {
    const g = new Gates();
    const e = { ...ev, basis: 'threshold' as const };
    assert.equal(g.breach('connection_churn', 's', 0, e, target), 'fired');
    for (let t = 10_000; t <= 100_000; t += 10_000)
      assert.equal(g.breach('connection_churn', 's', t, e, target), 'held');
    assert.deepEqual(g.sweep(150_000, timing), []); // breached 50 s ago
    const resolved = g.sweep(160_000, timing);
    assert.equal(resolved.length, 1);
    assert.equal(g.get('connection_churn', 's')?.state, 'cooldown');
    assert.equal(g.breach('connection_churn', 's', 200_000, e, target), 'suppressed');
    g.sweep(460_000, timing); // cool-down over: forgotten
    assert.equal(g.get('connection_churn', 's'), undefined);
    assert.equal(g.breach('connection_churn', 's', 470_000, e, target), 'fired');
    assert.equal(g.suppressed, 11);
  });
});

describe('rule settings', () => {
  it('a setting the rule does not use is refused', () => {
    assert.throws(
      () => checkRuleUpdate(DETECT_RULES.connection_churn, { k: 3 }),
      /rule connection_churn has no setting k/,
    );
    assert.doesNotThrow(() => checkRuleUpdate(DETECT_RULES.message_flood, { k: 3, threshold: 9 }));
  });
});

/** Publishes `perMinute` messages spread over each 10 s step (Poisson-ish noise when `rnd`). */
const steady = (t: ReturnType<typeof testEngine>, deviceId: string, perMinute: () => number) => {
  return () => {
    const n = Math.max(0, Math.round(perMinute() / 6));
    for (let i = 0; i < n; i++) t.engine.message(ORG, deviceId, 100);
  };
};

describe('message flood: learned baseline', () => {
  it('is silent while learning, quiet on noisy-but-normal traffic, fires on a real step with its evidence', async () => {
    const t = testEngine();
    await t.tune(ORG, 'message_flood', { learningMinutes: 30 });
    const rnd = seeded(7);
    // 20 ± 10 messages a minute, with an occasional burst of 3× during learning.
    const normal = () => 20 + (rnd() - 0.5) * 20;
    let minute = 0;
    await t.run(30 * 60_000, (i) => {
      if (i % 6 === 0) minute++;
      const burst = minute % 7 === 0;
      steady(t, 'd1', () => (burst ? 3 * normal() : normal()))();
    });
    // A burst of 100 a minute while learning: not an alert (no band yet, far below the ceiling).
    await t.run(
      60_000,
      steady(t, 'd1', () => 100),
    );
    assert.equal(t.fired().length, 0);
    // Two hours of normal noise after learning: nothing.
    await t.run(120 * 60_000, steady(t, 'd1', normal));
    assert.equal(t.fired().length, 0, JSON.stringify(t.fired()));
    // A step to 600 a minute: fires once, with the why.
    await t.run(
      3 * 60_000,
      steady(t, 'd1', () => 600),
    );
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    const e = fired[0]!;
    assert.equal(e.ruleId, 'message_flood');
    assert.equal(e.deviceId, 'd1');
    assert.equal(e.severity, 'medium');
    assert.equal(e.evidence.metric, 'messages_in');
    assert.equal(e.evidence.windowSeconds, 60);
    assert.equal(e.evidence.basis, 'device');
    assert.ok(e.evidence.observed > e.evidence.expected.high!, JSON.stringify(e.evidence));
    assert.ok(e.evidence.median! >= 10 && e.evidence.median! <= 40, JSON.stringify(e.evidence));
    assert.ok(e.evidence.samples! >= 30);
    // The band is at least minDeviation (120) above the median.
    assert.ok(e.evidence.expected.high! >= e.evidence.median! + 120);
    assert.equal(t.alerts.calls.filter((c) => c.op === 'open').length, 1);
    assert.equal(t.alerts.calls[0]!.evidence!['basis'], 'device');
    assert.deepEqual(t.errors, []);
  });

  it('the hard ceiling fires even while learning', async () => {
    const t = testEngine();
    await t.tune(ORG, 'message_flood', { threshold: 300 });
    await t.run(
      30_000,
      steady(t, 'd2', () => 700),
    );
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.evidence.basis, 'threshold');
    assert.deepEqual(fired[0]!.evidence.expected, { low: null, high: 299 });
  });

  it('a device without history is held to its type once five peers learned; an unknown type stays silent', async () => {
    const types: Record<string, string> = { n: 'camera', newMeter: 'meter' };
    for (let i = 0; i < 6; i++) types[`p${i}`] = 'meter';
    const t = testEngine({ types });
    await t.tune(ORG, 'message_flood', { learningMinutes: 15 });
    await t.run(20 * 60_000, (i) => {
      for (let p = 0; p < 6; p++) steady(t, `p${p}`, () => 12 + (i % 3))();
    });
    assert.equal(t.fired().length, 0);
    // A new meter floods at 400 a minute: its group says 12-14.
    await t.run(2 * 60_000, () => {
      for (let p = 0; p < 6; p++) steady(t, `p${p}`, () => 12)();
      steady(t, 'newMeter', () => 400)();
      steady(t, 'n', () => 400)(); // a camera: no learned peers, no history
    });
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.deepEqual(
      fired.map((e) => [e.deviceId, e.evidence.basis]),
      [['newMeter', 'group']],
    );
  });

  it('a disabled rule does not fire', async () => {
    const t = testEngine();
    await t.tune(ORG, 'message_flood', { enabled: false, threshold: 10 });
    await t.run(
      60_000,
      steady(t, 'd3', () => 600),
    );
    assert.equal(t.fired().length, 0);
  });
});

describe('threshold rules on edge events', () => {
  it('auth brute force per source: one alert on the claimed device, resolved after quiet, cool-down, again', async () => {
    const t = testEngine({ keys: { victim: ORG }, operator: 'org-op' });
    const fail = (subject = 'device:victim', source = '10.0.0.9') =>
      t.events.emit({
        type: 'auth.failed',
        orgId: null,
        at: t.clock.now(),
        transport: 'mqtt',
        source,
        reason: 'unknown',
        credential: 'device_key',
        subject,
      });
    for (let i = 0; i < 9; i++) fail();
    // An id no device has: not counted against ORG (it goes to the operator's count: 1 there).
    fail('device:other');
    for (let i = 0; i < 5; i++) fail('device:victim', '10.0.0.10'); // another source: its own count
    await t.settle();
    await t.settle();
    assert.equal(t.fired().length, 0);
    fail(); // the 10th failure against ORG from that source
    await t.settle();
    await t.settle();
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1, JSON.stringify(fired));
    const e = fired[0]!;
    assert.equal(e.ruleId, 'auth_bruteforce');
    assert.equal(e.subject, `source:10.0.0.9|org:${ORG}`);
    assert.equal(e.evidence.source, '10.0.0.9');
    assert.equal(e.evidence.observed, 10);
    assert.equal(e.evidence['attribution'], 'organization');
    // Only the identities tried against this organization.
    assert.deepEqual(e.evidence.subjects, ['device:victim']);
    // The alert goes on the device a failing credential claimed (a key of the organization names it).
    assert.equal(e.deviceId, 'victim');
    assert.equal(e.orgId, ORG);
    // More failures: held, one open gate.
    for (let i = 0; i < 20; i++) fail();
    await t.settle();
    assert.equal(t.fired().length, 1);
    // Quiet for the resolve delay (600 s): resolved; during the cool-down (1800 s) nothing fires.
    await t.run(620_000);
    assert.equal(t.seen.filter((x) => x.type === 'detect.resolved').length, 1);
    for (let i = 0; i < 15; i++) fail();
    await t.settle();
    assert.equal(t.fired().length, 1);
    await t.run(1_800_000);
    for (let i = 0; i < 10; i++) fail();
    await t.settle();
    await t.settle();
    const again = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(again.length, 2);
    assert.equal(again[1]!.deviceId, 'victim');
    assert.deepEqual(
      t.alerts.calls.map((c) => [c.op, c.deviceId, c.ruleId]),
      [
        ['open', 'victim', 'auth_bruteforce'],
        ['resolve', 'victim', 'auth_bruteforce'],
        ['open', 'victim', 'auth_bruteforce'],
      ],
    );
  });

  it('auth brute force attribution: unknown ids go to the hub operator, named devices to their own organization, each seeing only its own', async () => {
    const t = testEngine({ keys: { a1: ORG, b1: 'org-b' }, operator: 'org-op' });
    const fail = (subject: string | null, orgId: string | null = null, source = '10.9.9.9') =>
      t.events.emit({
        type: 'auth.failed',
        orgId,
        at: t.clock.now(),
        transport: 'mqtt',
        source,
        reason: 'unknown',
        credential: 'device_key',
        subject,
      });
    // One source: 12 unknown ids, 3 guesses at org-b's b1, 10 at ORG's a1, 2 certificates of no CA.
    for (let i = 0; i < 12; i++) fail(`device:nobody-${i % 3}`);
    for (let i = 0; i < 3; i++) fail('device:b1');
    for (let i = 0; i < 10; i++) fail('device:a1');
    fail('org:org-b'); // a certificate claiming org-b that no CA of it signed: names nothing truly
    fail('org:org-b');
    for (let i = 0; i < 6; i++) await t.settle();
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    const byOrg = new Map(fired.map((e) => [e.orgId, e]));
    assert.deepEqual([...byOrg.keys()].sort(), [ORG, 'org-op'], JSON.stringify(fired));
    const op = byOrg.get('org-op')!;
    assert.equal(op.deviceId, null);
    assert.equal(op.subject, 'source:10.9.9.9|org:org-op');
    assert.equal(op.evidence['attribution'], 'hub_operator');
    assert.equal(op.evidence.source, '10.9.9.9');
    assert.equal(op.evidence.observed, 10); // fired at the 10th unknown id
    assert.deepEqual(op.evidence.subjects, [
      'device:nobody-0',
      'device:nobody-1',
      'device:nobody-2',
    ]);
    const a = byOrg.get(ORG)!;
    assert.equal(a.deviceId, 'a1');
    assert.deepEqual(a.evidence.subjects, ['device:a1']);
    // org-b: 3 failures against its device (under its threshold), and none of the forged claims.
    assert.ok(!fired.some((e) => e.orgId === 'org-b'));
    // The alerts: one on a1 in ORG, one without a device in the operator's organization.
    assert.deepEqual(t.alerts.calls.map((c) => [c.op, c.orgId, c.deviceId]).sort(), [
      ['open', ORG, 'a1'],
      ['open', 'org-op', null],
    ]);
    // A failure the admission check proved an organization's (a revoked certificate): that one.
    for (let i = 0; i < 10; i++) fail('org:org-b', 'org-b', '10.8.8.8');
    for (let i = 0; i < 4; i++) await t.settle();
    const b = (t.fired() as DomainEventOf<'detect.fired'>[]).find((e) => e.orgId === 'org-b');
    assert.equal(b?.subject, 'source:10.8.8.8|org:org-b');
    assert.equal(b?.evidence['attribution'], 'organization');
    // Quiet for the resolve delay: the operator's alert resolves by its source key too.
    await t.run(620_000);
    assert.ok(
      t.alerts.calls.some((c) => c.op === 'resolve' && c.orgId === 'org-op' && c.deviceId === null),
    );
  });

  it('auth brute force with no organization on the hub at all raises nothing and fails nothing', async () => {
    const t = testEngine();
    for (let i = 0; i < 15; i++)
      t.events.emit({
        type: 'auth.failed',
        orgId: null,
        at: t.clock.now(),
        transport: 'mqtt',
        source: '10.7.7.7',
        reason: 'unknown',
        credential: 'device_key',
        subject: 'device:ghost',
      });
    for (let i = 0; i < 4; i++) await t.settle();
    assert.equal(t.fired().length, 0);
    assert.deepEqual(t.errors, []);
  });

  it('cloned certificate: take-overs from another address, twice; a same-address reconnect is not one', async () => {
    const t = testEngine();
    const takeover = (previousSource: string, source: string) =>
      t.events.emit({
        type: 'device.session_taken_over',
        orgId: ORG,
        at: t.clock.now(),
        deviceId: 'twin',
        transport: 'mqtt',
        previousSource,
        source,
      });
    for (let i = 0; i < 5; i++) takeover('10.1.1.1', '10.1.1.1');
    takeover('10.1.1.1', '10.2.2.2');
    await t.settle();
    assert.equal(t.fired().length, 0); // one roam is not a clone
    takeover('10.2.2.2', '10.1.1.1');
    await t.settle();
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.ruleId, 'cloned_certificate');
    assert.equal(fired[0]!.severity, 'critical');
    assert.deepEqual(fired[0]!.evidence.sources, ['10.1.1.1', '10.2.2.2']);
  });

  it('connection churn: connects per window at the threshold', async () => {
    const t = testEngine();
    await t.tune(ORG, 'connection_churn', { threshold: 5, windowSeconds: 60 });
    const connect = () =>
      t.events.emit({
        type: 'device.connected',
        orgId: ORG,
        at: t.clock.now(),
        deviceId: 'flappy',
        sessionId: 's',
        transport: 'mqtt',
        source: '10.3.3.3',
        certSerial: null,
      });
    // Four a minute for ten minutes: under it.
    await t.run(10 * 60_000, (i) => {
      if (i % 6 < 4) connect();
    });
    assert.equal(t.fired().length, 0);
    for (let i = 0; i < 5; i++) connect();
    await t.settle();
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.ok(fired[0]!.evidence.observed >= 5);
    assert.equal(fired[0]!.evidence.metric, 'connects');
  });
});

describe("the agent's reports", () => {
  const metrics = (ports: number[]) => ({
    at: '2026-01-01T00:00:00Z',
    cpuPercent: 1,
    memory: { totalBytes: 1, availableBytes: 1 },
    disk: { totalBytes: 1, availableBytes: 1 },
    uptimeSeconds: 1,
    network: { rxBytes: 0, txBytes: 0 },
    listeningPorts: ports,
    connections: 1,
  });

  it('a new listening port after learning fires once per port; learning and restarts keep the set', async () => {
    const t = testEngine();
    await t.tune(ORG, 'new_listening_port', { learningMinutes: 10 });
    await t.engine.metrics(ORG, 'gw', metrics([22, 443]));
    await t.run(5 * 60_000);
    await t.engine.metrics(ORG, 'gw', metrics([22, 443, 8080])); // still learning: learned
    await t.run(6 * 60_000);
    await t.engine.metrics(ORG, 'gw', metrics([443, 22, 8080]));
    assert.equal(t.fired().length, 0);
    await t.engine.persist(true);
    // A restart: a new engine on the same store knows the set and that learning is over.
    const t2 = testEngine({ store: t.store, clock: t.clock });
    await t2.engine.metrics(ORG, 'gw', metrics([22, 443, 8080, 4444]));
    await t2.settle();
    const fired = t2.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.ruleId, 'new_listening_port');
    assert.deepEqual(fired[0]!.evidence.newPorts, [4444]);
    assert.deepEqual(fired[0]!.evidence.knownPorts, [22, 443, 8080]);
    assert.equal(fired[0]!.evidence.basis, 'known_set');
    await t2.engine.metrics(ORG, 'gw', metrics([22, 443, 8080, 4444]));
    await t2.settle();
    assert.equal(t2.fired().length, 1);
  });

  it('a connection outside the allowlist fires at once, with the destination', async () => {
    const t = testEngine();
    await t.engine.deviceEvents(ORG, 'cam', [
      { kind: 'heartbeat', severity: 'info', at: '2026-01-01T00:00:00Z', detail: {} },
    ]);
    assert.equal(t.fired().length, 0);
    await t.engine.deviceEvents(ORG, 'cam', [
      {
        kind: 'connection_not_allowed',
        severity: 'warning',
        at: '2026-01-01T00:00:01Z',
        detail: { remoteAddress: '203.0.113.7', remotePort: 6667, localPort: 50123 },
      },
    ]);
    await t.settle();
    const fired = t.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.ruleId, 'disallowed_connection');
    assert.deepEqual(fired[0]!.evidence.destinations, ['203.0.113.7:6667']);
    assert.equal(fired[0]!.severity, 'high');
  });

  it('the flood baseline survives a restart', async () => {
    const t = testEngine();
    await t.tune(ORG, 'message_flood', { learningMinutes: 10 });
    await t.run(
      15 * 60_000,
      steady(t, 'persisted', () => 30),
    );
    await t.engine.stop();
    const row = t.store.baselines.get(`${ORG}|persisted|message_flood`);
    assert.ok(row);
    const t2 = testEngine({ store: t.store, clock: t.clock });
    await t2.tune(ORG, 'message_flood', { learningMinutes: 10 });
    t2.engine.message(ORG, 'persisted', 1);
    await t2.settle();
    const s = t2.engine.tracked(ORG, 'persisted')!;
    await s.loading;
    assert.ok(s.flood!.samples.length >= 13);
    // Learned already: a flood right after the restart is judged by the device's own band.
    await t2.run(
      60_000,
      steady(t2, 'persisted', () => 900),
    );
    const fired = t2.fired() as DomainEventOf<'detect.fired'>[];
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.evidence.basis, 'device');
  });
});

/**
 * Detection end to end (decision 0034) on a real hub over real MQTT/TLS on loopback: key guessing
 * from one source, one device key used from two source addresses at once, a message flood (hard
 * ceiling, then a learned baseline), an agent-reported new listening port and a connection outside
 * the allowlist — each an alert with its evidence and a `detect.fired` event; the rules API with
 * its permissions, bad input and tenancy; a device's baselines and counters.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { DomainEvent, DomainEventOf } from '@bulwark/core';
import type { BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { waitForAlert } from './detect-helpers.js';

describe('detection end to end', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let admin: BulwarkClient;
  let adminKey: string;
  let channelId: string;
  const seen: DomainEvent[] = [];
  const clients: MqttClient[] = [];
  const fired = (ruleId: string) =>
    seen.filter(
      (e): e is DomainEventOf<'detect.fired'> => e.type === 'detect.fired' && e.ruleId === ruleId,
    );

  async function device(name: string) {
    const d = await s.api.devices.create({ name, type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    return { id: d.id, key };
  }
  const online = async (d: { id: string; key: string }, localAddress?: string) => {
    const c = await connectTls(t, {
      username: d.id,
      password: d.key,
      clientId: d.id,
      ...(localAddress ? { localAddress } : {}),
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    t.hub.services.events.listen((e) => seen.push(e));
    const { key } = await s.owner.apiKeys.create({
      name: 'secops',
      permissions: ['audit:read', 'detect:manage', 'devices:read'],
    });
    admin = t.client(key);
    adminKey = key;
    channelId = (await s.api.channels.create({ name: 'telemetry', persisted: false })).id;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await t?.close();
  });

  it('key guessing from one source raises auth_bruteforce with its evidence within seconds', async () => {
    const victims = [await device('v1'), await device('v2'), await device('v3')];
    const started = Date.now();
    // Four wrong keys for each of three devices: under the edge throttle's per-device limit (5).
    for (const v of victims)
      for (let i = 0; i < 4; i++)
        await assert.rejects(
          connectTls(t, { username: v.id, password: `bwd_guess${i}`, clientId: v.id }),
        );
    const alert = await waitForAlert(s.api, 'auth_bruteforce', null);
    assert.ok(Date.now() - started < 10_000);
    assert.ok(victims.some((v) => v.id === alert.deviceId));
    const d = alert.evidence;
    assert.equal(d['rule'], 'auth_bruteforce');
    assert.equal(alert.severity, 'high');
    assert.match(alert.title, /auth bruteforce: auth_failures/);
    assert.equal(d['metric'], 'auth_failures');
    assert.equal(d['source'], '127.0.0.1');
    assert.equal(d['windowSeconds'], 60);
    assert.ok((d['observed'] as number) >= 10, JSON.stringify(d));
    assert.deepEqual(d['expected'], { low: null, high: 9 });
    assert.deepEqual(
      [...(d['subjects'] as string[])].sort(),
      victims.map((v) => `device:${v.id}`).sort(),
    );
    const e = fired('auth_bruteforce');
    assert.equal(e.length, 1);
    assert.equal(e[0]!.subject, `source:127.0.0.1|org:${s.orgId}`);
    assert.equal(d['attribution'], 'organization');
    assert.equal(e[0]!.orgId, s.orgId);
  });

  it('guessing one device key until the edge throttle locks the source raises auth_bruteforce', async () => {
    const v = await device('locked-victim');
    // From 127.0.0.4: 20 wrong keys; the throttle locks (source, device) after 5, so only 5 are
    // counted as failures (under the rule's 10), but the lock itself is reported once.
    let refused = 0;
    for (let i = 0; i < 20; i++)
      await connectTls(t, {
        username: v.id,
        password: `bwd_wrong${i}`,
        clientId: v.id,
        ...{ localAddress: '127.0.0.4' }, // passed on to the socket (not in MQTT.js's types)
      }).then(
        (c) => c.end(true),
        () => refused++,
      );
    assert.equal(refused, 20);
    const alert = await waitForAlert(s.api, 'auth_bruteforce', v.id);
    assert.equal(alert.evidence['source'], '127.0.0.4');
    assert.equal(alert.evidence['lockedBy'], 'the edge failure throttle');
    assert.equal(alert.evidence['basis'], 'event');
    assert.match(alert.title, /failed authentications from 127\.0\.0\.4, then locked/);
    // Told once per lock episode, not at every refused attempt.
    const locked = seen.filter(
      (e) => e.type === 'auth.failed' && e.source === '127.0.0.4' && e.reason === 'locked',
    );
    assert.equal(locked.length, 1);
  });

  it('one device key connected from two source addresses at once raises cloned_certificate', async () => {
    const d = await device('cloned');
    await online(d, '127.0.0.2');
    await online(d, '127.0.0.3'); // takes the first session over
    await online(d, '127.0.0.2'); // and back: two copies fighting
    const alert = await waitForAlert(s.api, 'cloned_certificate', d.id);
    assert.equal(alert.severity, 'critical');
    assert.equal(alert.evidence['metric'], 'cross_source_takeovers');
    assert.ok((alert.evidence['observed'] as number) >= 2);
    assert.deepEqual([...(alert.evidence['sources'] as string[])].sort(), [
      '127.0.0.2',
      '127.0.0.3',
    ]);
    assert.equal(fired('cloned_certificate')[0]?.deviceId, d.id);
  });

  it('a message flood above the ceiling (tuned through the API) raises message_flood', async () => {
    const rule = await admin.detect.updateRule('message_flood', { threshold: 200 });
    assert.equal(rule.settings.threshold, 200);
    assert.equal(rule.defaults.threshold, 6000);
    const d = await device('flooder');
    const c = await online(d);
    const codes = await Promise.all(
      Array.from({ length: 250 }, (_, i) => publish(c, `channels/${channelId}/messages`, `m${i}`)),
    );
    assert.ok(codes.every((x) => x === 0));
    const alert = await waitForAlert(s.api, 'message_flood', d.id);
    assert.equal(alert.evidence['basis'], 'threshold');
    assert.equal(alert.evidence['metric'], 'messages_in');
    assert.ok((alert.evidence['observed'] as number) >= 200);
    assert.deepEqual(alert.evidence['expected'], { low: null, high: 199 });
    await admin.detect.updateRule('message_flood', { threshold: 6000 });
  });

  it('after learning, a step in one device’s rate raises message_flood against its own band', async () => {
    await admin.detect.updateRule('message_flood', { learningMinutes: 10 });
    const d = await device('learner');
    const c = await online(d);
    const engine = t.hub.services.detect.engine;
    // Twelve one-minute windows of 5 to 7 messages (the hub's clock moves; the engine ticks).
    for (let w = 0; w < 12; w++) {
      await Promise.all(
        Array.from({ length: 5 + (w % 3) }, () =>
          publish(c, `channels/${channelId}/messages`, 'x'),
        ),
      );
      t.clock.advance(60_000);
      await engine.tick();
    }
    const view = await admin.detect.device(d.id);
    const flood = view.metrics.find((m) => m.ruleId === 'message_flood')!;
    assert.equal(flood.basis, 'device', JSON.stringify(flood));
    assert.equal(flood.baseline?.learned, true);
    assert.ok(flood.baseline.samples >= 10);
    assert.ok(flood.baseline.median! >= 5 && flood.baseline.median! <= 7);
    assert.equal(fired('message_flood').filter((e) => e.deviceId === d.id).length, 0);
    // 150 in a minute: far above 6 + 120.
    await Promise.all(
      Array.from({ length: 150 }, () => publish(c, `channels/${channelId}/messages`, 'x')),
    );
    await engine.tick();
    const alert = await waitForAlert(s.api, 'message_flood', d.id);
    assert.equal(alert.evidence['basis'], 'device');
    assert.ok(
      (alert.evidence['observed'] as number) >
        (alert.evidence['expected'] as { high: number }).high,
    );
    assert.ok(
      typeof alert.evidence['median'] === 'number' && typeof alert.evidence['mad'] === 'number',
    );
  });

  it("the agent's report of a new listening port and of a connection outside its allowlist raise alerts", async () => {
    await admin.detect.updateRule('new_listening_port', { learningMinutes: 1 });
    const d = await device('gateway');
    const c = await online(d);
    const metrics = (ports: number[]) =>
      JSON.stringify({
        at: new Date(t.clock.now()).toISOString(),
        cpuPercent: 3,
        memory: { totalBytes: 1e9, availableBytes: 5e8 },
        disk: { totalBytes: 1e10, availableBytes: 5e9 },
        uptimeSeconds: 100,
        network: { rxBytes: 10, txBytes: 20 },
        listeningPorts: ports,
        connections: 2,
      });
    assert.equal(await publish(c, `$devices/${d.id}/metrics`, metrics([22, 443])), 0);
    await new Promise((r) => setTimeout(r, 200));
    t.clock.advance(2 * 60_000);
    assert.equal(await publish(c, `$devices/${d.id}/metrics`, metrics([22, 443, 31337])), 0);
    const port = await waitForAlert(s.api, 'new_listening_port', d.id);
    assert.deepEqual(port.evidence['newPorts'], [31337]);
    assert.deepEqual(port.evidence['knownPorts'], [22, 443]);
    const view = await admin.detect.device(d.id);
    assert.deepEqual(
      view.metrics.find((m) => m.ruleId === 'new_listening_port')?.knownPorts,
      [22, 443, 31337],
    );
    assert.equal(view.gates.find((g) => g.ruleId === 'new_listening_port')?.state, 'open');

    const event = {
      kind: 'connection_not_allowed',
      severity: 'warning',
      at: new Date(t.clock.now()).toISOString(),
      detail: { remoteAddress: '198.51.100.23', remotePort: 4444, localPort: 40000 },
    };
    assert.equal(await publish(c, `$devices/${d.id}/events`, JSON.stringify([event])), 0);
    const conn = await waitForAlert(s.api, 'disallowed_connection', d.id);
    assert.deepEqual(conn.evidence['destinations'], ['198.51.100.23:4444']);
    assert.equal(conn.severity, 'high');
    assert.equal(fired('disallowed_connection').length, 1);
  });

  it('rules: list, show, tune; bad input and a missing permission change nothing', async () => {
    const rules = await admin.detect.rules();
    assert.deepEqual(rules.map((r) => r.id).sort(), [
      'auth_bruteforce',
      'cloned_certificate',
      'connection_churn',
      'disallowed_connection',
      'message_flood',
      'new_listening_port',
      'renewal_outside_schedule',
    ]);
    const churn = await admin.detect.rule('connection_churn');
    assert.equal(churn.settings.threshold, 20);
    assert.equal(churn.updatedAt, null);
    const bad = async (body: unknown, status: number, code: string, key = adminKey) => {
      const res = await raw(t, 'PATCH', '/detect/rules/connection_churn', body, key);
      assert.equal(res.status, status, res.text);
      assert.equal(res.json['code'], code);
    };
    await bad({ k: 3 }, 400, 'validation_failed'); // not a setting of a threshold rule
    await bad({ windowSeconds: 15 }, 400, 'validation_failed'); // not whole buckets
    await bad({}, 400, 'validation_failed');
    await bad({ threshold: 5, extra: 1 }, 400, 'unknown_field');
    const unknown = await raw(t, 'GET', '/detect/rules/nope', undefined, s.apiKey);
    assert.equal(unknown.status, 400);
    // s.apiKey reads (audit:read) but may not tune (no detect:manage).
    await bad({ threshold: 5 }, 403, 'forbidden', s.apiKey);
    assert.equal((await admin.detect.rule('connection_churn')).settings.threshold, 20);
    const tuned = await admin.detect.updateRule('connection_churn', {
      threshold: 50,
      windowSeconds: 600,
      enabled: false,
    });
    assert.deepEqual(
      [tuned.settings.threshold, tuned.settings.windowSeconds, tuned.settings.enabled],
      [50, 600, false],
    );
    assert.ok(tuned.updatedAt !== null);
    // Who changed which rule to what is in the audit log.
    const [row] = (await s.api.audit.list({ action: 'updateDetectRule', limit: 1 })).items;
    assert.equal(row?.result, 'success');
    assert.match(JSON.stringify(row?.detail), /"threshold":50/);
  });

  it("another organization has its own rules and cannot read this organization's device", async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const token = (
      await t.client().auth.login({
        email: 'owner@example.com',
        password: PASSWORD,
        organizationId: org2.id,
      })
    ).accessToken;
    const other = t.client(token);
    // connection_churn was tuned in this organization, not there.
    const theirs = await other.detect.rule('connection_churn');
    assert.deepEqual([theirs.settings.threshold, theirs.updatedAt], [20, null]);
    const mine = (await s.api.devices.list()).items[0]!;
    const res = await raw(t, 'GET', `/detect/devices/${mine.id}`, undefined, token);
    assert.equal(res.status, 404);
  });
});

describe('detection baselines across a hub restart', () => {
  let t: TestHub | undefined;
  let dir: string | undefined;
  after(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a learned baseline is stored, read back after a restart and judged by at once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-detect-restart-'));
    t = await startTestHub([], { dir });
    const s = await setupOwner(t);
    const { key } = await s.owner.apiKeys.create({
      name: 'secops',
      permissions: ['audit:read', 'detect:manage', 'devices:read'],
    });
    await t.client(key).detect.updateRule('message_flood', { learningMinutes: 10 });
    const channelId = (await s.api.channels.create({ name: 'data', persisted: false })).id;
    const d = await s.api.devices.create({ name: 'steady', type: 'meter' });
    const deviceKey = (await s.api.devices.createKey(d.id)).key;
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: false,
    });
    const creds = { username: d.id, password: deviceKey, clientId: d.id };
    let c = await connectTls(t, creds);
    for (let w = 0; w < 12; w++) {
      await Promise.all(
        Array.from({ length: 8 }, () => publish(c, `channels/${channelId}/messages`, 'x')),
      );
      t.clock.advance(60_000);
      await t.hub.services.detect.engine.tick();
    }
    c.end(true);
    const learnedAt = t.clock.now();
    await t.hub.stop(); // writes what the engine learned

    t = await startTestHub([], { dir });
    t.clock.t = learnedAt + 60_000; // the restarted hub's clock goes on from there
    const secops = t.client(key);
    const stored = await secops.detect.device(d.id);
    assert.equal(stored.tracked, false);
    const flood = stored.metrics.find((m) => m.ruleId === 'message_flood')!;
    assert.equal(flood.baseline?.learned, true, JSON.stringify(flood));
    assert.ok(flood.baseline.samples >= 10);
    assert.equal(flood.baseline.median, 8);
    // Right after the restart, a flood is judged against the device's own stored band.
    c = await connectTls(t, creds);
    await Promise.all(
      Array.from({ length: 200 }, () => publish(c, `channels/${channelId}/messages`, 'x')),
    );
    await t.hub.services.detect.engine.tick();
    const alert = await waitForAlert(t.client(key), 'message_flood', d.id);
    assert.equal(alert.evidence['basis'], 'device');
    assert.equal(alert.evidence['median'], 8);
    c.end(true);
  });
});

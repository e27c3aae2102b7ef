/**
 * The live event stream (`GET /events/stream`, decision 0038 amendment): per organization, per
 * permission, ended when the credential goes, a slow reader cut off, resumable by Last-Event-ID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { StreamFrame } from '@bulwark/sdk';
import type { BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, eventually, raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

/**
 * Reads a stream in the background into `frames` until it ends or `stop()` is called. Each stream
 * gets a client of its own: undici keeps a connection of an Agent whose request was aborted busy
 * until the server's keep-alive timeout (72 s), which would hold the hub's shutdown.
 */
function follow(t: TestHub, token: string, opts: { deviceId?: string; lastEventId?: string } = {}) {
  const client = t.client(token);
  const ac = new AbortController();
  const frames: StreamFrame[] = [];
  let ended: 'end' | 'error' | null = null;
  const done = (async () => {
    try {
      for await (const f of client.events.stream({ ...opts, signal: ac.signal })) frames.push(f);
      ended = 'end';
    } catch {
      ended = 'error';
    }
  })();
  return {
    frames,
    events: () => frames.flatMap((f) => (f.kind === 'event' ? [f.event] : [])),
    ended: () => ended,
    ready: () =>
      eventually(() => (frames.some((f) => f.kind === 'ready') ? true : undefined), 'ready'),
    async stop() {
      ac.abort();
      await done;
    },
    done,
  };
}

describe('live event stream', () => {
  let t: TestHub;
  let a: Awaited<ReturnType<typeof setupOwner>>;
  let bClient: BulwarkClient;
  let devA: string;
  let devB: string;
  let orgB: string;
  let bToken: string;

  before(async () => {
    t = await startTestHub([], { eventStream: { heartbeatMs: 150, maxBufferedBytes: 64 * 1024 } });
    a = await setupOwner(t);
    orgB = (await a.owner.orgs.create({ name: 'Elsewhere' })).id;
    const b = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: orgB,
    });
    bToken = b.accessToken;
    bClient = t.client(bToken);
    devA = (await a.owner.devices.create({ name: 'press-a', type: 'press' })).id;
    devB = (await bClient.devices.create({ name: 'press-b', type: 'press' })).id;
  });
  after(() => t.close());

  it('refuses a caller without a credential or without devices:read', async () => {
    assert.equal((await raw(t, 'GET', '/events/stream')).status, 401);
    const { key } = await a.owner.apiKeys.create({ name: 'audit', permissions: ['audit:read'] });
    const r = await raw(t, 'GET', '/events/stream', undefined, key);
    assert.equal(r.status, 403);
    assert.equal(r.json['code'], 'forbidden');
  });

  it("streams an organization's events to it and to no other organization", async () => {
    const sa = follow(t, a.tokens.accessToken);
    const sb = follow(t, bToken);
    await Promise.all([sa.ready(), sb.ready()]);
    await a.owner.twins.patchDesired(devA, { led: 'on' });
    await bClient.twins.patchDesired(devB, { led: 'off' });
    // An event of A's org naming B's device id (a forged cross-reference) stays in A's org.
    t.hub.services.events.emit({
      type: 'device.state_changed',
      orgId: orgB,
      deviceId: devB,
      from: 'active',
      to: 'quarantined',
      at: Date.now(),
    });
    await eventually(() => (sb.events().length >= 2 ? true : undefined), "B's events");
    await eventually(() => (sa.events().length >= 1 ? true : undefined), "A's events");
    await t.hub.services.events.flush();
    await sa.stop();
    await sb.stop();
    assert.deepEqual(
      sa.events().map((e) => [e.type, e.deviceId]),
      [['twin.desired_changed', devA]],
    );
    assert.deepEqual(
      sb.events().map((e) => [e.type, e.deviceId]),
      [
        ['twin.desired_changed', devB],
        ['device.state_changed', devB],
      ],
    );
    // Views carry no node id or address.
    for (const e of [...sa.events(), ...sb.events()])
      assert.ok(!('origin' in e) && !('orgId' in e));
  });

  it("carries rollout transitions and a job's rollout to its organization only, not to a device's stream", async () => {
    const sa = follow(t, a.tokens.accessToken);
    const sdev = follow(t, a.tokens.accessToken, { deviceId: devA });
    const sb = follow(t, bToken);
    await Promise.all([sa.ready(), sdev.ready(), sb.ready()]);
    const at = Date.now();
    const orgA = a.orgId;
    t.hub.services.events.emit({
      type: 'rollout.transition',
      orgId: orgA,
      rolloutId: 'r-1',
      state: 'paused',
      at,
    });
    t.hub.services.events.emit({
      type: 'update_job.transition',
      orgId: orgA,
      deviceId: devA,
      jobId: 'j-1',
      state: 'downloading',
      rolloutId: 'r-1',
      at,
    });
    await eventually(() => (sa.events().length >= 2 ? true : undefined), "A's events");
    await eventually(() => (sdev.events().length >= 1 ? true : undefined), "the device's events");
    await t.hub.services.events.flush();
    await Promise.all([sa.stop(), sdev.stop(), sb.stop()]);
    assert.deepEqual(sa.events(), [
      {
        type: 'rollout.transition',
        at: new Date(at).toISOString(),
        deviceId: null,
        rolloutId: 'r-1',
        state: 'paused',
      },
      {
        type: 'update_job.transition',
        at: new Date(at).toISOString(),
        deviceId: devA,
        jobId: 'j-1',
        state: 'downloading',
        rolloutId: 'r-1',
      },
    ]);
    assert.deepEqual(
      sdev.events().map((e) => e.type),
      ['update_job.transition'],
    );
    assert.equal(sb.events().length, 0);
  });

  it('filters by device and by permission (detection needs audit:read)', async () => {
    const { key } = await a.owner.apiKeys.create({ name: 'viewer', permissions: ['devices:read'] });
    const viewer = follow(t, key);
    const owner = follow(t, a.tokens.accessToken);
    const other = await a.owner.devices.create({ name: 'press-c', type: 'press' });
    const oneDevice = follow(t, a.tokens.accessToken, { deviceId: other.id });
    await Promise.all([viewer.ready(), owner.ready(), oneDevice.ready()]);
    t.hub.services.events.emit({
      type: 'detect.fired',
      orgId: a.orgId,
      deviceId: devA,
      ruleId: 'auth_bruteforce',
      severity: 'high',
      subject: `device:${devA}`,
      evidence: {
        metric: 'x',
        windowSeconds: 60,
        observed: 9,
        expected: { low: null, high: 5 },
        basis: 'threshold',
      },
      at: Date.now(),
    });
    await a.owner.twins.patchDesired(other.id, { mode: 'eco' });
    await eventually(
      () =>
        owner.events().length >= 2 && viewer.events().length >= 1 && oneDevice.events().length >= 1
          ? true
          : undefined,
      'events',
    );
    await viewer.stop();
    await owner.stop();
    await oneDevice.stop();
    assert.deepEqual(
      viewer.events().map((e) => e.type),
      ['twin.desired_changed'],
    );
    assert.deepEqual(
      owner.events().map((e) => e.type),
      ['detect.fired', 'twin.desired_changed'],
    );
    assert.deepEqual(
      oneDevice.events().map((e) => [e.type, e.deviceId]),
      [['twin.desired_changed', other.id]],
    );
  });

  it("ends the stream when the user logs out (the session's access token dies)", async () => {
    const tokens = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const s = follow(t, tokens.accessToken);
    await s.ready();
    await t.client().auth.logout(tokens.refreshToken);
    await eventually(() => s.ended() ?? undefined, 'the stream to end', { tries: 50 });
    const last = s.frames.at(-1);
    assert.deepEqual(last, { kind: 'end', reason: 'credential_invalid' });
    await s.done;
  });

  it('ends at once when its API key is revoked', async () => {
    const created = await a.owner.apiKeys.create({
      name: 'soon revoked',
      permissions: ['devices:read'],
    });
    const s = follow(t, created.key);
    await s.ready();
    const started = Date.now();
    await a.owner.apiKeys.revoke(created.apiKey.id);
    await eventually(() => s.ended() ?? undefined, 'the stream to end', { tries: 50, everyMs: 20 });
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(s.frames.at(-1), { kind: 'end', reason: 'credential_invalid' });
  });

  it('resumes from Last-Event-ID, and says reset when it cannot', async () => {
    const s = follow(t, a.tokens.accessToken, { deviceId: devA });
    await s.ready();
    await a.owner.twins.patchDesired(devA, { step: 1 });
    await eventually(() => (s.events().length >= 1 ? true : undefined), 'first');
    await s.stop();
    const lastId = (s.frames.find((f) => f.kind === 'event') as { id: string }).id;
    await a.owner.twins.patchDesired(devA, { step: 2 }); // while disconnected
    await t.hub.services.events.flush();
    const again = follow(t, a.tokens.accessToken, { deviceId: devA, lastEventId: lastId });
    await again.ready();
    await again.stop();
    assert.deepEqual(
      again.events().map((e) => e.type),
      ['twin.desired_changed'],
    );
    assert.ok(!again.frames.some((f) => f.kind === 'reset'));
    const foreign = follow(t, a.tokens.accessToken, { lastEventId: 'otherboot-1' });
    await foreign.ready();
    await foreign.stop();
    assert.equal(foreign.frames[0]?.kind, 'reset');
  });

  it('cuts off a client that stops reading instead of buffering for it', async () => {
    const metrics = (await a.owner.apiKeys.create({ name: 'm', permissions: ['metrics:read'] }))
      .key;
    const slowCount = async () => {
      const r = await t.fetchWith()(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${metrics}` },
      });
      const m = /bulwark_event_streams\{state="slow"\} (\d+)/.exec(await r.text());
      return Number(m?.[1] ?? 0);
    };
    const before = await slowCount();
    // A raw HTTPS client that reads the headers and then nothing more.
    let received = 0;
    let closed = false;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        `${t.url}/api/v1/events/stream`,
        { ca: t.ca, headers: { authorization: `Bearer ${a.tokens.accessToken}` } },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 200);
    res.on('data', (c: Buffer) => (received += c.length));
    res.on('close', () => (closed = true));
    res.on('error', () => undefined);
    await eventually(() => (received > 0 ? true : undefined), 'the first frames');
    res.pause();
    // 400 events of ~64 KiB: 25 MiB, far beyond the socket buffers and the 64 KiB backlog bound.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++) {
      t.hub.services.events.emit({
        type: 'device.state_changed',
        orgId: a.orgId,
        deviceId: devA,
        from: big,
        to: String(i),
        at: Date.now(),
      });
    }
    await t.hub.services.events.flush();
    await eventually(async () => ((await slowCount()) > before ? true : undefined), 'the cut');
    res.resume();
    await eventually(() => (closed ? true : undefined), 'the connection to close');
    assert.ok(received < 400 * 64 * 1024, `received ${received} bytes: not everything`);
  });
});

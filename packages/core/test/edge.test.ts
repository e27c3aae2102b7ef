import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdmissionError,
  DEVICE_PLANES,
  accessActionFor,
  createAccessEnforcer,
  createMemoryEvents,
  mayUse,
  requirePlane,
  sessionKeyOf,
  watchCredentialConflicts,
  type AlertRecord,
  type DevicePrincipal,
  type DomainEvent,
  type EdgePrincipal,
  type LiveSessions,
} from '@bulwark/core';

const device = (over: Partial<DevicePrincipal> = {}): DevicePrincipal => ({
  type: 'device',
  id: 'dev-1',
  orgId: 'org-a',
  state: 'active',
  device: {} as DevicePrincipal['device'],
  credential: { kind: 'certificate', serial: 'aa', cert: {} as never },
  ...over,
});
const app = (id = 'key-1', orgId = 'org-a'): EdgePrincipal => ({
  type: 'api_key',
  id,
  orgId,
  name: 'dashboard',
  permissions: [],
});
const at = 1_700_000_000_000;

describe('what each device state opens (policy)', () => {
  it('a quarantined device keeps its management plane and updates, and loses channel data', () => {
    const q = device({ state: 'quarantined' });
    assert.equal(mayUse(q, 'management'), true);
    assert.equal(mayUse(q, 'updates'), true);
    assert.equal(mayUse(q, 'channels'), false);
    assert.equal(mayUse(q, 'renewal'), false);
    assert.throws(
      () => requirePlane(q, 'channels'),
      (e: unknown) =>
        e instanceof AdmissionError &&
        e.reason === 'quarantined' &&
        e.code === 'device_quarantined',
    );
  });
  it('active and provisioned devices use every plane; decommissioned none', () => {
    for (const plane of ['channels', 'management', 'updates', 'renewal'] as const) {
      assert.equal(mayUse(device(), plane), true);
      assert.equal(mayUse(device({ state: 'provisioned' }), plane), true);
    }
    assert.deepEqual(DEVICE_PLANES.decommissioned, []);
  });
  it('an application reaches channel data only', () => {
    assert.equal(mayUse(app(), 'channels'), true);
    assert.equal(mayUse(app(), 'management'), false);
    assert.equal(mayUse(app(), 'updates'), false);
  });
});

describe('session keys belong to the principal', () => {
  it('an application cannot take a device id or another key as its session', () => {
    const d = device();
    assert.equal(sessionKeyOf(d, d.id), 'dev-1');
    // org B's key connecting with org A's device id as client id lands in its own namespace
    assert.equal(sessionKeyOf(app('key-b', 'org-b'), 'dev-1'), 'app:org-b:key-b:dev-1');
    assert.notEqual(
      sessionKeyOf(app('key-b', 'org-b'), 'dashboard'),
      sessionKeyOf(app(), 'dashboard'),
    );
  });
});

describe('access changes → actions on live sessions', () => {
  const serialA = device({ credential: { kind: 'certificate', serial: 'aa', cert: {} as never } });
  const serialB = device({ credential: { kind: 'certificate', serial: 'bb', cert: {} as never } });
  const keyed = device({ credential: { kind: 'device_key', keyId: 'k1' } });
  const matches = (e: DomainEvent, p: EdgePrincipal) => accessActionFor(e)?.match(p) ?? false;

  it('a revoked certificate cuts the sessions that used that serial only', () => {
    const e: DomainEvent = {
      type: 'certificate.revoked',
      orgId: 'org-a',
      at,
      deviceId: 'dev-1',
      serial: 'aa',
      reason: null,
    };
    assert.equal(accessActionFor(e)?.action, 'cut');
    assert.equal(matches(e, serialA), true);
    assert.equal(matches(e, serialB), false, 'the renewed certificate stays connected');
    assert.equal(matches(e, keyed), false);
    assert.equal(matches(e, { ...serialA, orgId: 'org-b' }), false);
  });
  it('a revoked device key or API key cuts exactly its sessions', () => {
    const k: DomainEvent = {
      type: 'device_key.revoked',
      orgId: 'org-a',
      at,
      deviceId: 'dev-1',
      keyId: 'k1',
    };
    assert.equal(matches(k, keyed), true);
    assert.equal(matches(k, serialA), false);
    const a: DomainEvent = { type: 'api_key.revoked', orgId: 'org-a', at, keyId: 'key-1' };
    assert.equal(matches(a, app()), true);
    assert.equal(matches(a, app('key-2')), false);
    assert.equal(matches(a, app('key-1', 'org-b')), false);
  });
  it('quarantine, release and decommissioning cut the device; other state changes do not', () => {
    const change = (from: string, to: string): DomainEvent => ({
      type: 'device.state_changed',
      orgId: 'org-a',
      at,
      deviceId: 'dev-1',
      from,
      to,
    });
    assert.equal(matches(change('active', 'quarantined'), serialA), true);
    assert.equal(matches(change('quarantined', 'active'), keyed), true);
    assert.equal(matches(change('active', 'decommissioned'), serialA), true);
    assert.equal(accessActionFor(change('provisioned', 'active')), null);
  });
  it('a changed channel right re-authorizes that client, a deleted channel the whole org', () => {
    const one: DomainEvent = {
      type: 'channel.access_changed',
      orgId: 'org-a',
      at,
      channelId: 'ch',
      client: { type: 'api_key', id: 'key-1' },
    };
    assert.equal(accessActionFor(one)?.action, 'reauthorize');
    assert.equal(matches(one, app()), true);
    assert.equal(matches(one, app('key-2')), false);
    const all: DomainEvent = { ...one, client: null };
    assert.equal(matches(all, app('key-2')), true);
    assert.equal(matches(all, app('key-2', 'org-b')), false);
  });

  it('the enforcer applies events from the port to every transport and forgets cached rights', async () => {
    const events = createMemoryEvents({ nodeId: 'n1' });
    const cut: string[] = [];
    const reauth: EdgePrincipal[] = [];
    const forgotten: string[] = [];
    const live = [serialA, app()];
    const transport: LiveSessions = {
      cut: (m, reason) => {
        const hit = live.filter(m);
        cut.push(...hit.map((p) => `${p.id}:${reason}`));
        return hit.length;
      },
      reauthorize: async (m) => {
        reauth.push(...live.filter(m));
        return 0;
      },
    };
    const enforcer = createAccessEnforcer({
      events,
      sessions: () => [transport],
      forgetRights: (_o, channelId, client) => forgotten.push(`${channelId}:${client?.id ?? '*'}`),
    });
    events.emit({ type: 'api_key.revoked', orgId: 'org-a', at, keyId: 'key-1' });
    events.emit({
      type: 'channel.access_changed',
      orgId: 'org-a',
      at,
      channelId: 'ch',
      client: null,
    });
    await events.flush();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(cut, ['key-1:api_key_revoked']);
    assert.deepEqual(forgotten, ['ch:*']);
    assert.deepEqual(
      reauth.map((p) => p.id),
      ['dev-1', 'key-1'],
    );
    enforcer.stop();
  });
});

describe('the in-process events port', () => {
  it('delivers in emit order after emit returns, isolates failing listeners, stamps the node', async () => {
    const errors: unknown[] = [];
    const events = createMemoryEvents({ nodeId: 'n1', onError: (e) => errors.push(e) });
    const seen: string[] = [];
    events.listen(() => {
      throw new Error('boom');
    });
    events.listen((e) => seen.push(`${e.type}@${e.origin}`));
    events.emit({ type: 'api_key.revoked', orgId: 'o', at, keyId: '1' });
    events.emit({ type: 'api_key.revoked', orgId: 'o', at, keyId: '2' });
    assert.deepEqual(seen, [], 'listeners never run inside emit');
    await events.flush();
    assert.deepEqual(seen, ['api_key.revoked@n1', 'api_key.revoked@n1']);
    assert.equal(errors.length, 2);
  });
});

describe('one credential used from two places', () => {
  const takeover = (source: string, previousSource: string): DomainEvent => ({
    type: 'device.session_taken_over',
    orgId: 'org-a',
    at,
    deviceId: 'dev-1',
    transport: 'mqtt',
    previousSource,
    source,
  });
  const setup = () => {
    const events = createMemoryEvents();
    const opened: Array<{ kind: AlertRecord['kind']; detail: AlertRecord['evidence'] }> = [];
    let t = at;
    watchCredentialConflicts({
      events,
      clock: { now: () => t },
      alerts: {
        open: async (_o, _d, kind, detail) => {
          opened.push({ kind, detail });
          return undefined;
        },
      },
    });
    return { events, opened, advance: (ms: number) => (t += ms) };
  };

  it('raises one credential_conflict alert when two sources keep taking each other over', async () => {
    const { events, opened } = setup();
    for (let i = 0; i < 3; i++)
      events.emit(takeover(i % 2 ? '10.0.0.1' : '10.0.0.2', i % 2 ? '10.0.0.2' : '10.0.0.1'));
    await events.flush();
    assert.equal(opened.length, 1);
    assert.equal(opened[0]!.kind, 'credential_conflict');
    assert.deepEqual(
      new Set(opened[0]!.detail['sources'] as string[]),
      new Set(['10.0.0.1', '10.0.0.2']),
    );
  });
  it('a device reconnecting from one address, or take-overs spread out in time, raise nothing', async () => {
    const a = setup();
    for (let i = 0; i < 5; i++) a.events.emit(takeover('10.0.0.1', '10.0.0.1'));
    await a.events.flush();
    assert.equal(a.opened.length, 0);
    const b = setup();
    for (let i = 0; i < 5; i++) {
      b.events.emit(takeover('10.0.0.2', '10.0.0.1'));
      await b.events.flush();
      b.advance(61_000);
    }
    assert.equal(b.opened.length, 0);
  });
});

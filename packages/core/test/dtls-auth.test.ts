/**
 * DTLS-PSK through the one admission rule (decisions 0041, 0043): failed handshakes are counted
 * and reported like any refused credential and throttle their source; a registration over DTLS
 * binds only the device its PSK identity names (another device, another organization: refused);
 * a replaced or removed key cuts the sessions made with it.
 */
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import {
  Admission,
  Lwm2mService,
  accessActionFor,
  createEdgeThrottle,
  DEFAULT_EDGE_THROTTLE,
  type Device,
  type DevicePrincipal,
  type DomainEvent,
} from '@bulwark/core';

const clock = {
  t: 1_700_000_000_000,
  now() {
    return this.t;
  },
};

const devices: Record<string, Device> = {
  'aaaaaaaa-0000-4000-8000-000000000001': {
    id: 'aaaaaaaa-0000-4000-8000-000000000001',
    orgId: 'org-a',
    state: 'active',
    tags: ['lwm2m'],
  } as unknown as Device,
  'aaaaaaaa-0000-4000-8000-000000000002': {
    id: 'aaaaaaaa-0000-4000-8000-000000000002',
    orgId: 'org-a',
    state: 'active',
    tags: ['lwm2m'],
  } as unknown as Device,
  'bbbbbbbb-0000-4000-8000-000000000003': {
    id: 'bbbbbbbb-0000-4000-8000-000000000003',
    orgId: 'org-b',
    state: 'active',
    tags: ['lwm2m'],
  } as unknown as Device,
};
const [A1, A2, B3] = Object.keys(devices) as [string, string, string];
/** A raw public key (any bytes: admission pins the SHA-256 of the SPKI) pinned to A1. */
const SPKI = Buffer.from('a1-spki');
const pins = new Map<string, { orgId: string; deviceId: string }>();
const psks: Record<string, { orgId: string; deviceId: string; ref: string }> = {
  'id-a1': { orgId: 'org-a', deviceId: A1, ref: 'r1' },
  'id-b3': { orgId: 'org-b', deviceId: B3, ref: 'r3' },
};

function setup(threshold = 3) {
  const events: DomainEvent[] = [];
  const storage = {
    devices: {
      get: (orgId: string, id: string) =>
        Promise.resolve(devices[id]?.orgId === orgId ? devices[id] : undefined),
      orgOf: (id: string) => Promise.resolve(devices[id]?.orgId),
    },
    deviceKeys: {},
    apiKeys: {},
  };
  const admission = new Admission({
    clock,
    storage: storage as never,
    certificates: { authenticateDevice: () => Promise.reject(new Error('not used')) },
    events: { emit: (e: DomainEvent) => void events.push(e) } as never,
    psks: { resolve: (identity: string) => Promise.resolve(psks[identity]) },
    rpks: { resolve: (fingerprint: string) => Promise.resolve(pins.get(fingerprint)) },
    throttle: createEdgeThrottle(
      { ...DEFAULT_EDGE_THROTTLE, source: { ...DEFAULT_EDGE_THROTTLE.source, threshold } },
      clock,
    ),
  });
  const audits: { action: string; orgId: string | null; detail: unknown }[] = [];
  const lwm2m = new Lwm2mService({
    storage: storage as never,
    audit: { record: (r: never) => void audits.push(r) } as never,
    admission,
    clock,
    log: { warn: () => undefined, info: () => undefined },
    twins: {} as never,
    presence: {} as never,
    commands: {} as never,
    messaging: {} as never,
    signals: {} as never,
    link: {} as never,
  });
  return { admission, events, lwm2m, audits };
}

describe('DTLS handshake failures are authentication failures', () => {
  it('an unknown identity and a wrong key are auth.failed events naming the PSK identity', () => {
    const { admission, events } = setup();
    admission.handshakeFailed({
      transport: 'coap',
      source: '10.0.0.1',
      credential: { kind: 'psk', identity: 'nobody', ref: '' },
      reason: 'unknown',
    });
    admission.handshakeFailed({
      transport: 'coap',
      source: '10.0.0.1',
      credential: { kind: 'psk', identity: 'id-a1', ref: '' },
      reason: 'unknown',
      orgId: 'org-a',
    });
    assert.deepEqual(
      events.map((e) => e.type === 'auth.failed' && [e.subject, e.orgId, e.credential, e.source]),
      [
        ['psk:nobody', null, 'psk', '10.0.0.1'],
        ['psk:id-a1', 'org-a', 'psk', '10.0.0.1'],
      ],
    );
  });

  it('past the threshold the source waits (told once as locked); another source does not', () => {
    const { admission, events } = setup(3);
    const fail = (source: string) =>
      admission.handshakeFailed({
        transport: 'coap',
        source,
        credential: { kind: 'psk', identity: 'id-a1', ref: '' },
        reason: 'unknown',
      });
    fail('10.0.0.2');
    fail('10.0.0.2');
    assert.equal(admission.handshakeRetryAfterMs('coap', '10.0.0.2', 'psk'), 0);
    fail('10.0.0.2');
    assert.ok(admission.handshakeRetryAfterMs('coap', '10.0.0.2', 'psk') > 0);
    assert.ok(admission.handshakeRetryAfterMs('coap', '10.0.0.2', 'psk') > 0);
    assert.equal(admission.handshakeRetryAfterMs('coap', '10.0.0.3', 'psk'), 0);
    const locked = events.filter((e) => e.type === 'auth.failed' && e.reason === 'locked');
    assert.equal(locked.length, 1, 'one locked event per episode');
  });
});

describe('LwM2M registration over DTLS binds the device the PSK identity names', () => {
  const sec = (identity: string, pskRef: string) => ({ identity, pskRef });
  const forbidden = (e: unknown) => e instanceof BulwarkError && e.kind === 'forbidden';

  it('its own endpoint is bound', async () => {
    const { lwm2m } = setup();
    const b = await lwm2m.bind(A1, '10.0.0.5:5000', sec('id-a1', 'r1'));
    assert.deepEqual([b.orgId, b.deviceId], ['org-a', A1]);
  });

  it('another device of the organization, another organization’s device, a stale key: 4.03, audited', async () => {
    const { lwm2m, audits, events } = setup(100);
    await assert.rejects(lwm2m.bind(A2, '10.0.0.5:5000', sec('id-a1', 'r1')), forbidden);
    await assert.rejects(lwm2m.bind(A1, '10.0.0.5:5001', sec('id-b3', 'r3')), forbidden);
    await assert.rejects(lwm2m.bind(A1, '10.0.0.5:5002', sec('id-a1', 'old')), forbidden);
    await assert.rejects(
      lwm2m.bind('not-a-device', '10.0.0.5:5003', sec('id-a1', 'r1')),
      forbidden,
    );
    assert.deepEqual(
      audits.map((a) => [a.action, a.orgId]),
      [
        ['lwm2m.register.refused', 'org-a'],
        ['lwm2m.register.refused', 'org-b'],
        ['lwm2m.register.refused', 'org-a'],
        ['lwm2m.register.refused', 'org-a'],
      ],
    );
    // The same refusal path as every credential: auth.failed, counted per source (address only).
    const failed = events.filter((e) => e.type === 'auth.failed');
    assert.equal(failed.length, 4);
    assert.ok(failed.every((e) => e.type === 'auth.failed' && e.source === '10.0.0.5'));
  });

  it('refusals of one source and endpoint are audited once a minute, not per attempt', async () => {
    const { lwm2m, audits } = setup(100);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(lwm2m.bind(A2, '10.0.0.6:7000', sec('id-a1', 'r1')), forbidden);
    }
    assert.equal(audits.length, 1);
  });
});

describe('LwM2M over DTLS with a raw public key binds the device its pin names', () => {
  const sec = { identity: '', pskRef: '', credential: { kind: 'rpk' as const, spki: SPKI } };
  const forbidden = (e: unknown) => e instanceof BulwarkError && e.kind === 'forbidden';

  it('its own endpoint, with the pin as the principal; another endpoint or no pin: refused', async () => {
    const fingerprint = createHash('sha256').update(SPKI).digest('hex');
    pins.set(fingerprint, { orgId: 'org-a', deviceId: A1 });
    try {
      const { lwm2m, audits } = setup(100);
      const b = await lwm2m.bind(A1, '10.0.0.7:5000', sec);
      assert.deepEqual([b.orgId, b.deviceId], ['org-a', A1]);
      assert.deepEqual(b.credential, { kind: 'rpk', fingerprint });
      await assert.rejects(lwm2m.bind(A2, '10.0.0.7:5001', sec), forbidden);
      pins.clear();
      await assert.rejects(lwm2m.bind(A1, '10.0.0.7:5002', sec), forbidden);
      assert.deepEqual(
        audits.map((a) => a.action),
        ['lwm2m.register.refused', 'lwm2m.register.refused'],
      );
    } finally {
      pins.clear();
    }
  });
});

describe('a replaced or removed PSK cuts the sessions made with it', () => {
  const principal = (identity: string, id = A1): DevicePrincipal => ({
    type: 'device',
    id,
    orgId: 'org-a',
    state: 'active',
    device: devices[id]!,
    credential: { kind: 'psk', identity },
  });
  it('matches that identity of that device only', () => {
    const e: DomainEvent = {
      type: 'device_psk.revoked',
      orgId: 'org-a',
      at: clock.t,
      deviceId: A1,
      identity: 'id-a1',
    };
    const a = accessActionFor(e);
    assert.equal(a?.action, 'cut');
    assert.equal(a.match(principal('id-a1')), true);
    assert.equal(a.match(principal('id-other')), false);
    assert.equal(a.match(principal('id-a1', A2)), false);
    assert.equal(
      a.match({ ...principal('x'), credential: { kind: 'device_key', keyId: 'id-a1' } }),
      false,
    );
  });
});

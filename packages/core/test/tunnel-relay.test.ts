/** The relay's pairing rules and bounds (decision 0042), without sockets. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BulwarkError } from '@bulwark/protocol';
import {
  TunnelRelay,
  type AuditService,
  type RelayLeg,
  type RelaySessionSpec,
  type Storage,
} from '../src/index.js';

const audited: { action: string; detail: Record<string, unknown> }[] = [];
const audit = {
  record: async (r: { action: string; detail: Record<string, unknown> }) => {
    audited.push(r);
    return {};
  },
} as unknown as AuditService;
const storage = {
  tickets: { get: async () => ({ revokedAt: null }) },
  devices: { get: async () => ({ state: 'active' }) },
  pki: { getCertificate: async () => ({ revokedAt: null }) },
} as unknown as Pick<Storage, 'tickets' | 'devices' | 'pki'>;

const relay = (limits = {}) =>
  new TunnelRelay({ clock: { now: () => Date.now() }, audit, storage, limits });
const spec = (over: Partial<RelaySessionSpec> = {}): RelaySessionSpec => ({
  orgId: 'org-a',
  deviceId: 'dev-1',
  jti: 'jti-1',
  principalId: 'user-1',
  principalType: 'user',
  target: 'tcp:22',
  maxSeconds: 60,
  maxBytes: 1000,
  ...over,
});
class Leg implements RelayLeg {
  closed: string | undefined;
  close(reason: string) {
    this.closed = reason;
  }
}
const operator = { leg: 'operator' as const, orgId: 'org-a', principalId: 'user-1', source: 'x' };
const device = {
  leg: 'device' as const,
  orgId: 'org-a',
  deviceId: 'dev-1',
  serial: 's1',
  source: 'y',
};
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as BulwarkError).code;
  }
  return 'none';
};

describe('tunnel relay pairing', () => {
  it('pairs the operator and the device with their own secrets, each once', () => {
    const r = relay();
    const s = r.create(spec());
    assert.equal(
      code(() => r.join(s.id, s.deviceSecret, operator, new Leg())),
      'relay_refused',
    );
    const a = r.join(s.id, s.operatorSecret, operator, new Leg());
    assert.equal(a.paired, false);
    assert.equal(
      code(() => r.join(s.id, s.operatorSecret, operator, new Leg())),
      'relay_refused',
    );
    const b = r.join(s.id, s.deviceSecret, device, new Leg());
    assert.equal(b.paired, true);
    r.closeAll();
  });

  it('refuses another organization, another device and another principal', () => {
    const r = relay();
    const s = r.create(spec());
    const other = [
      { ...operator, orgId: 'org-b' },
      { ...operator, principalId: 'user-2' },
      { ...device, deviceId: 'dev-2' },
      { ...device, orgId: 'org-b' },
    ];
    for (const who of other) {
      const secret = who.leg === 'operator' ? s.operatorSecret : s.deviceSecret;
      assert.equal(
        code(() => r.join(s.id, secret, who, new Leg())),
        'relay_refused',
      );
    }
    // None of those counted as a wrong secret: the session still pairs.
    r.join(s.id, s.operatorSecret, operator, new Leg());
    assert.equal(r.join(s.id, s.deviceSecret, device, new Leg()).paired, true);
    r.closeAll();
  });

  it('drops a session after three wrong secrets', () => {
    const r = relay();
    const s = r.create(spec());
    for (let i = 0; i < 3; i++)
      assert.equal(
        code(() => r.join(s.id, 'guess', operator, new Leg())),
        'relay_refused',
      );
    assert.equal(
      code(() => r.join(s.id, s.operatorSecret, operator, new Leg())),
      'relay_refused',
    );
    assert.equal(r.size, 0);
  });

  it('bounds sessions per device, per organization and per node', () => {
    const r = relay({ maxPerDevice: 2, maxPerOrg: 3, maxSessions: 4 });
    r.create(spec());
    r.create(spec());
    assert.equal(
      code(() => r.create(spec())),
      'relay_busy',
    );
    r.create(spec({ deviceId: 'dev-2' }));
    assert.equal(
      code(() => r.create(spec({ deviceId: 'dev-3' }))),
      'relay_busy',
    );
    r.create(spec({ orgId: 'org-b', deviceId: 'dev-9' }));
    assert.equal(
      code(() => r.create(spec({ orgId: 'org-c', deviceId: 'dev-8' }))),
      'relay_busy',
    );
    r.closeAll();
  });

  it('closes both legs over the byte limit and on revocation, and audits why', async () => {
    const r = relay();
    const s = r.create(spec({ maxBytes: 100 }));
    const o = new Leg();
    const d = new Leg();
    r.join(s.id, s.operatorSecret, operator, o);
    r.join(s.id, s.deviceSecret, device, d);
    assert.equal(r.count(s.id, 'device', 60), true);
    assert.equal(r.count(s.id, 'operator', 60), false);
    assert.equal(o.closed, 'max_bytes');
    assert.equal(d.closed, 'max_bytes');
    const t = r.create(spec({ jti: 'jti-2' }));
    const o2 = new Leg();
    r.join(t.id, t.operatorSecret, operator, o2);
    r.ticketRevoked('org-b', 'jti-2');
    assert.equal(o2.closed, undefined, 'another organization’s revocation does not touch it');
    r.ticketRevoked('org-a', 'jti-2');
    assert.equal(o2.closed, 'ticket_revoked');
    await new Promise((res) => setImmediate(res));
    const closed = audited.filter((a) => a.action === 'tunnel.closed').map((a) => a.detail);
    assert.ok(closed.some((c) => c['reason'] === 'max_bytes' && c['bytesToDevice'] === 60));
    assert.ok(closed.some((c) => c['reason'] === 'ticket_revoked' && c['opened'] === false));
  });

  it('drops a session whose legs do not pair in time', async () => {
    const r = relay({ pairTimeoutMs: 50 });
    const s = r.create(spec());
    const o = new Leg();
    r.join(s.id, s.operatorSecret, operator, o);
    await new Promise((res) => setTimeout(res, 120));
    assert.equal(o.closed, 'not_paired');
    assert.equal(r.size, 0);
  });
});

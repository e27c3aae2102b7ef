/** Decision 0022: the shared TLS session-ticket keys and admission's certificate cache. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '@bulwark/protocol';
import {
  SESSION_TICKET_KEYS,
  SecretBox,
  SessionTicketKeys,
  cacheCertificateChecks,
  createMemoryEvents,
  type CertificateRecord,
  type Device,
  type SystemStore,
} from '@bulwark/core';

const HOUR = 3600_000;

/** The SystemStore contract on a Map (the real adapters pass the testkit suite). */
function memorySystem(): SystemStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get: async (k) => map.get(k),
    put: async (k, v) => void map.set(k, v),
    async compareAndSet(k, expected, next) {
      if (map.get(k) !== expected) return false;
      if (next === undefined) map.delete(k);
      else map.set(k, next);
      return true;
    },
  };
}

/** A clock the test moves by setting `t`. */
function clock(t0: number): { t: number; now(): number } {
  return {
    t: t0,
    now() {
      return this.t;
    },
  };
}

describe('TLS session-ticket keys (shared, sealed, rotating)', () => {
  const master = randomBytes(32);
  const ring = (system: SystemStore, c: { now(): number }, periodMs = 24 * HOUR) =>
    new SessionTicketKeys({ system, box: new SecretBox(master), clock: c, periodMs });

  it('two nodes starting at once agree on one key; the row is sealed', async () => {
    const system = memorySystem();
    const c = clock(1_000_000);
    const [a, b] = await Promise.all([ring(system, c).current(), ring(system, c).current()]);
    assert.ok(a.key.equals(b.key));
    assert.equal(a.key.length, 48);
    const row = system.map.get(SESSION_TICKET_KEYS)!;
    assert.match(row, /^v1\./);
    assert.ok(!row.includes(a.key.toString('base64')));
    assert.equal(a.until, 1_000_000 + 24 * HOUR);
  });

  it('the successor, written ahead, takes over when the period ends — on every node alike', async () => {
    const system = memorySystem();
    const c = clock(5_000_000);
    const first = await ring(system, c).current();
    const rowBefore = system.map.get(SESSION_TICKET_KEYS);
    c.t += 23 * HOUR;
    assert.ok(
      (await ring(system, c).current()).key.equals(first.key),
      'same key within the period',
    );
    assert.equal(system.map.get(SESSION_TICKET_KEYS), rowBefore, 'nothing rewritten');
    c.t += 1 * HOUR;
    const second = await ring(system, c).current();
    assert.ok(!second.key.equals(first.key), 'rotated');
    // The new one was in the row before its time, so a node that read the row early agrees.
    const c2 = clock(c.t);
    const other = await ring(system, c2).current();
    assert.ok(other.key.equals(second.key));
    assert.notEqual(system.map.get(SESSION_TICKET_KEYS), rowBefore, 'the next successor added');
  });

  it("after a rotation the previous key still opens tickets for one more period (its tickets' lifetime), then goes", async () => {
    const system = memorySystem();
    const c = clock(5_000_000);
    const first = await ring(system, c).current();
    assert.deepEqual(first.previous, [], 'nothing before the first key');
    c.t += 24 * HOUR;
    const second = await ring(system, c).current();
    assert.equal(second.previous.length, 1);
    assert.ok(second.previous[0]!.equals(first.key), 'the previous key, for decryption only');
    assert.ok(!second.key.equals(first.key));
    c.t += 24 * HOUR - 1;
    const late = await ring(system, c).current();
    assert.ok(late.key.equals(second.key));
    assert.ok(
      late.previous.some((k) => k.equals(first.key)),
      'its last tickets are still valid',
    );
    c.t += 1;
    const third = await ring(system, c).current();
    assert.ok(!third.previous.some((k) => k.equals(first.key)), 'past their lifetime: dropped');
    assert.ok(third.previous.some((k) => k.equals(second.key)));
    // The row never holds more than the previous, the active and the successor key.
    const row = system.map.get(SESSION_TICKET_KEYS)!;
    assert.ok(!row.includes(first.key.toString('base64')));
  });

  it('a hub down for longer than a period starts a fresh key', async () => {
    const system = memorySystem();
    const c = clock(0);
    const first = await ring(system, c).current();
    c.t += 10 * 24 * HOUR;
    const later = await ring(system, c).current();
    assert.ok(!later.key.equals(first.key));
    assert.equal(later.until, c.t + 24 * HOUR);
  });

  it('a row sealed under another master key is refused, not overwritten', async () => {
    const system = memorySystem();
    await ring(system, clock(0)).current();
    const row = system.map.get(SESSION_TICKET_KEYS);
    const stranger = new SessionTicketKeys({
      system,
      box: new SecretBox(randomBytes(32)),
      clock: clock(0),
      periodMs: 24 * HOUR,
    });
    await assert.rejects(stranger.current(), /same master key/);
    assert.equal(system.map.get(SESSION_TICKET_KEYS), row);
  });

  it("a period beyond TLS 1.3's seven days is refused", () => {
    assert.throws(() => ring(memorySystem(), clock(0), 8 * 24 * HOUR), /7 days/);
  });
});

describe("admission's certificate cache", () => {
  const now = 1_700_000_000_000;
  const cert = (over: Partial<CertificateRecord> = {}): CertificateRecord => ({
    serial: 's1',
    orgId: 'org',
    deviceId: 'dev',
    certPem: '',
    fingerprint: 'f',
    spkiSha256: 'k',
    notBefore: now - HOUR,
    notAfter: now + HOUR,
    createdAt: now - HOUR,
    revokedAt: null,
    revocationReason: null,
    renewedFrom: null,
    supersededBy: null,
    retireAt: null,
    ...over,
  });
  const device = { id: 'dev', orgId: 'org', state: 'active' } as Device;
  const der = new Uint8Array([1, 2, 3]);
  const setup = (answer: () => Promise<{ device: Device; cert: CertificateRecord }>) => {
    let calls = 0;
    const events = createMemoryEvents({ nodeId: 'n' });
    const c = clock(now);
    const cache = cacheCertificateChecks(
      {
        authenticateDevice: () => {
          calls++;
          return answer();
        },
      },
      { events, clock: c, config: { ttlMs: 30_000, max: 2 } },
    );
    return { cache, events, c, calls: () => calls };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it('a second connect within the TTL reads nothing; concurrent ones share one lookup', async () => {
    const s = setup(async () => ({ device, cert: cert() }));
    await Promise.all([
      s.cache.authenticateDevice('org', der),
      s.cache.authenticateDevice('org', der),
    ]);
    await s.cache.authenticateDevice('org', der);
    assert.equal(s.calls(), 1);
    s.c.t += 30_000;
    await s.cache.authenticateDevice('org', der);
    assert.equal(s.calls(), 2, 'expired after the TTL');
  });

  for (const type of [
    'certificate.revoked',
    'certificate.renewed',
    'certificate.issued',
    'device.state_changed',
  ] as const) {
    it(`${type} for the device forgets its answer at once`, async () => {
      const s = setup(async () => ({ device, cert: cert() }));
      await s.cache.authenticateDevice('org', der);
      const base = { orgId: 'org', at: now, deviceId: 'dev' };
      s.events.emit(
        type === 'device.state_changed'
          ? { ...base, type, from: 'active', to: 'quarantined' }
          : { ...base, type, serial: 's1', reason: null },
      );
      await tick();
      assert.equal(s.cache.size(), 0);
      await s.cache.authenticateDevice('org', der);
      assert.equal(s.calls(), 2);
    });
  }

  it('an event for another device keeps the answer; the sweep can forget one too', async () => {
    const s = setup(async () => ({ device, cert: cert() }));
    await s.cache.authenticateDevice('org', der);
    s.events.emit({
      type: 'certificate.revoked',
      orgId: 'org',
      at: now,
      deviceId: 'other',
      serial: 'x',
      reason: null,
    });
    await tick();
    assert.equal(s.cache.size(), 1);
    s.cache.forget({
      type: 'certificate.revoked',
      orgId: 'org',
      at: now,
      deviceId: 'dev',
      serial: 's1',
      reason: null,
    });
    assert.equal(s.cache.size(), 0);
  });

  it('a lookup in flight when an access change arrives is neither stored nor joined', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = setup(async () => {
      await gate;
      return { device, cert: cert() };
    });
    const first = s.cache.authenticateDevice('org', der);
    s.cache.forget({
      type: 'device.state_changed',
      orgId: 'org',
      at: now,
      deviceId: 'dev',
      from: 'active',
      to: 'quarantined',
    });
    const second = s.cache.authenticateDevice('org', der);
    release();
    await Promise.all([first, second]);
    assert.equal(s.calls(), 2, 'the later connect looked up again');
    assert.equal(s.cache.size(), 1, 'only the later answer is kept');
  });

  it('refusals are not cached; the clock is checked again on a hit', async () => {
    let fail = true;
    const s = setup(async () => {
      if (fail) throw new BulwarkError('certificate_revoked');
      return { device, cert: cert({ retireAt: now + 1000 }) };
    });
    await assert.rejects(s.cache.authenticateDevice('org', der));
    fail = false;
    await s.cache.authenticateDevice('org', der);
    assert.equal(s.calls(), 2);
    s.c.t += 1000;
    await assert.rejects(s.cache.authenticateDevice('org', der), /renewed/);
    assert.equal(s.calls(), 2, 'refused from the cached record by the clock alone');
  });
});

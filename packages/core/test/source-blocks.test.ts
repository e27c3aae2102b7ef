/**
 * Source blocks (decision 0036, amendment "block_source"): addresses in one canonical form, the
 * block list one node keeps (hub-wide or one organization's, ending by itself, kept in step with
 * the store), and admission refusing a blocked source — every credential for a hub-wide block,
 * only the blocking organization's credentials otherwise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Admission,
  AdmissionError,
  SourceBlocks,
  canonicalAddress,
  sha256Hex,
  type Device,
} from '@bulwark/core';

const clock = { t: 1_700_000_000_000, now: () => clock.t };

describe('canonicalAddress', () => {
  it('IPv4 stays dotted; every spelling of an IPv4-mapped IPv6 address is its IPv4 address', () => {
    for (const s of [
      '10.0.0.9',
      '::ffff:10.0.0.9',
      '::FFFF:10.0.0.9',
      '::ffff:a00:9',
      '0:0:0:0:0:ffff:0a00:0009',
      '0000:0000:0000:0000:0000:FFFF:10.0.0.9',
      '::ffff:10.0.0.9%eth0',
    ])
      assert.equal(canonicalAddress(s), '10.0.0.9', s);
  });
  it('IPv6 takes RFC 5952 form; compatible and NAT64 forms stay IPv6', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalAddress('2001:0db8::0001'), '2001:db8::1');
    assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddress('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalAddress('::'), '::');
    assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(canonicalAddress('::10.0.0.9'), '::a00:9');
    assert.equal(canonicalAddress('64:ff9b::10.0.0.9'), '64:ff9b::a00:9');
  });
  it('names, prefixes and loose IPv4 forms are not addresses', () => {
    for (const s of [
      '',
      'hub.example.com',
      '10.0.0.0/8',
      '0177.0.0.1',
      '10.1',
      '256.0.0.1',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '::ffff:10.0.0.256',
      '12345::',
    ])
      assert.equal(canonicalAddress(s), null, s);
  });
});

describe('SourceBlocks', () => {
  it('a block matches every spelling of its address and ends by itself', () => {
    const b = new SourceBlocks(clock);
    b.add({
      id: 'm1',
      orgId: 'org-a',
      source: '::ffff:10.0.0.9',
      until: clock.t + 1000,
      hubWide: true,
    });
    assert.equal(b.check('10.0.0.9')?.hubWideUntil, clock.t + 1000);
    assert.ok(b.check('::ffff:a00:9'));
    assert.equal(b.check('10.0.0.10'), null);
    clock.t += 1000;
    assert.equal(b.check('10.0.0.9'), null);
    assert.equal(b.list().length, 0, 'an ended block is forgotten');
  });
  it("an organization's block names that organization; release removes only that block", () => {
    const b = new SourceBlocks(clock);
    b.add({ id: 'a', orgId: 'org-a', source: '10.0.0.9', until: clock.t + 5000, hubWide: false });
    b.add({ id: 'b', orgId: 'org-b', source: '10.0.0.9', until: clock.t + 9000, hubWide: false });
    const hit = b.check('10.0.0.9');
    assert.equal(hit?.hubWideUntil, 0);
    assert.deepEqual(
      [...(hit?.orgs ?? [])],
      [
        ['org-a', clock.t + 5000],
        ['org-b', clock.t + 9000],
      ],
    );
    b.remove('a');
    assert.deepEqual([...(b.check('10.0.0.9')?.orgs.keys() ?? [])], ['org-b']);
  });
  it('sync makes the list what the store says, keeping blocks learned after the read began', () => {
    const b = new SourceBlocks(clock);
    b.add({ id: 'old', orgId: 'o', source: '10.0.0.1', until: clock.t + 9000, hubWide: true });
    clock.t += 1;
    const readStartedAt = clock.t;
    clock.t += 1;
    b.add({ id: 'new', orgId: 'o', source: '10.0.0.2', until: clock.t + 9000, hubWide: true });
    b.sync(
      [{ id: 'missed', orgId: 'o', source: '10.0.0.3', until: clock.t + 9000, hubWide: true }],
      readStartedAt,
    );
    assert.deepEqual(
      b
        .list()
        .map((x) => x.id)
        .sort(),
      ['missed', 'new'],
    );
  });
});

describe('admission of a blocked source', () => {
  const device = (id: string, orgId: string) =>
    ({ id, orgId, state: 'active', name: id }) as unknown as Device;
  const keys: Record<string, { id: string; orgId: string; secretHash: string }> = {
    'dev-a': { id: 'k-a', orgId: 'org-a', secretHash: sha256Hex('key-a') },
    'dev-b': { id: 'k-b', orgId: 'org-b', secretHash: sha256Hex('key-b') },
  };
  let lookups = 0;
  const blocks = new SourceBlocks(clock);
  const admission = new Admission({
    clock,
    blocks,
    storage: {
      devices: { get: (orgId: string, id: string) => Promise.resolve(device(id, orgId)) },
      deviceKeys: {
        listLiveByDeviceId: (id: string) => {
          lookups++;
          return Promise.resolve(keys[id] ? [keys[id]] : []);
        },
      },
      apiKeys: {},
    } as never,
    certificates: {
      authenticateDevice: () => Promise.reject(new Error('not used')),
    },
  });
  const admit = (deviceId: string, secret: string, source: string) =>
    admission.admit({
      credential: { kind: 'device_key', deviceId, secret },
      transport: 'mqtt',
      source,
    });
  const refusedBlocked = (e: unknown) =>
    e instanceof AdmissionError && e.reason === 'blocked' && e.code === 'source_blocked';

  it("an organization's block refuses its own credentials from the source, not another's", async () => {
    blocks.add({
      id: 'x',
      orgId: 'org-a',
      source: '10.0.0.9',
      until: clock.t + 60_000,
      hubWide: false,
    });
    await assert.rejects(admit('dev-a', 'key-a', '::ffff:10.0.0.9'), refusedBlocked);
    assert.equal((await admit('dev-b', 'key-b', '10.0.0.9')).orgId, 'org-b');
    assert.equal((await admit('dev-a', 'key-a', '10.0.0.10')).orgId, 'org-a');
    blocks.remove('x');
  });
  it('a hub-wide block refuses every credential before any lookup', async () => {
    blocks.add({
      id: 'y',
      orgId: 'org-a',
      source: '10.0.0.9',
      until: clock.t + 60_000,
      hubWide: true,
    });
    const before = lookups;
    await assert.rejects(admit('dev-b', 'key-b', '10.0.0.9'), refusedBlocked);
    await assert.rejects(admit('nobody', 'guess', '10.0.0.9'), refusedBlocked);
    assert.equal(lookups, before, 'no key was looked up');
    blocks.remove('y');
    assert.equal((await admit('dev-b', 'key-b', '10.0.0.9')).orgId, 'org-b');
  });
});

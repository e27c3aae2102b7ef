/**
 * Scoped grants (decision 0046), socket-free: which devices a grant covers, what a holder may do
 * where, and the grant policy on a group (never beyond the granter's own permissions there).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { permissionsAt, scopeCovers, type Permission } from '@bulwark/protocol';
import { checkScopedGrant } from '../src/identity/grant-policy.js';
import { DeviceAccess, placeOfScope } from '../src/identity/device-scope.js';
import type { Principal } from '../src/identity/principal.js';
import type { Device, Location, ScopedGrant } from '../src/ports/records.js';
import type { Storage } from '../src/ports/storage.js';

const ORG = 'org-1';
// site ─ b3 ─ f1 ; site ─ b4
const LOCS: Location[] = [
  { id: 'site', orgId: ORG, parentId: null, kind: 'site', name: 'Plant', createdAt: 0 },
  { id: 'b3', orgId: ORG, parentId: 'site', kind: 'building', name: 'b3', createdAt: 0 },
  { id: 'b4', orgId: ORG, parentId: 'site', kind: 'building', name: 'b4', createdAt: 0 },
  { id: 'f1', orgId: ORG, parentId: 'b3', kind: 'floor', name: 'f1', createdAt: 0 },
  // a cycle (corrupt data): the walk stops instead of looping
  { id: 'c1', orgId: ORG, parentId: 'c2', kind: 'room', name: 'c1', createdAt: 0 },
  { id: 'c2', orgId: ORG, parentId: 'c1', kind: 'room', name: 'c2', createdAt: 0 },
];
const device = (id: string, locationId: string | null, tags: string[] = []): Device => ({
  id,
  orgId: ORG,
  name: id,
  type: 'pump',
  firmwareType: null,
  firmwareVersion: null,
  tags,
  mode: 'controlled',
  state: 'active',
  locationId,
  lastSeenAt: null,
  createdAt: 0,
  updatedAt: 0,
});

function fakeStorage(devices: Device[]): Pick<Storage, 'devices' | 'locations'> {
  return {
    locations: {
      get: async (orgId: string, id: string) => LOCS.find((l) => l.orgId === orgId && l.id === id),
    },
    devices: {
      get: async (orgId: string, id: string) =>
        devices.find((d) => d.orgId === orgId && d.id === id),
    },
  } as unknown as Pick<Storage, 'devices' | 'locations'>;
}

const grant = (over: Partial<ScopedGrant>): ScopedGrant => ({
  id: 'g',
  permissions: ['devices:manage'],
  locationId: null,
  tag: null,
  grantedBy: 'x',
  createdAt: 0,
  ...over,
});
const principal = (permissions: Permission[], scopedGrants: ScopedGrant[] = []): Principal => ({
  kind: 'user',
  id: 'u',
  orgId: ORG,
  name: 'u',
  role: 'viewer',
  permissions,
  scopedGrants,
});

describe('device groups', () => {
  it('a location grant covers its subtree only; a tag grant the tag; both: both', () => {
    const at = (locations: string[], tags: string[] = []) => ({ locations, tags });
    const b3 = { locationId: 'b3', tag: null };
    assert.ok(scopeCovers(b3, at(['f1', 'b3', 'site'])));
    assert.ok(scopeCovers(b3, at(['b3', 'site'])));
    assert.ok(!scopeCovers(b3, at(['b4', 'site'])));
    assert.ok(!scopeCovers(b3, at(['site'])), 'the parent is not in the subtree');
    assert.ok(!scopeCovers(b3, at([])));
    const both = { locationId: 'b3', tag: 'pumps' };
    assert.ok(scopeCovers(both, at(['b3'], ['pumps'])));
    assert.ok(!scopeCovers(both, at(['b3'], ['fans'])));
    assert.ok(!scopeCovers(both, at(['b4'], ['pumps'])));
  });

  it('a scope contains another scope when every device of the second is in the first', async () => {
    const st = fakeStorage([]);
    const place = (locationId: string | null, tag: string | null = null) =>
      placeOfScope(st, ORG, { locationId, tag });
    const b3 = { locationId: 'b3', tag: null };
    assert.ok(scopeCovers(b3, await place('f1')));
    assert.ok(scopeCovers(b3, await place('f1', 'pumps')), 'narrower by a tag');
    assert.ok(!scopeCovers(b3, await place(null, 'pumps')), 'a tag anywhere is wider');
    assert.ok(!scopeCovers(b3, await place('site')), 'the parent is wider');
    assert.ok(!scopeCovers({ locationId: null, tag: 'pumps' }, await place('f1')));
    assert.deepEqual((await place('c1')).locations, ['c1', 'c2'], 'a cycle ends the walk');
    assert.deepEqual((await place('nowhere')).locations, []);
  });

  it('permissions at a place: org-wide plus every covering grant', () => {
    const p = principal(
      ['devices:read'],
      [
        grant({ locationId: 'b3', permissions: ['devices:manage'] }),
        grant({ tag: 'pumps', permissions: ['firmware:update'] }),
      ],
    );
    assert.deepEqual(permissionsAt(p, { locations: ['f1', 'b3'], tags: [] }).sort(), [
      'devices:manage',
      'devices:read',
    ]);
    assert.deepEqual(permissionsAt(p, { locations: ['b4'], tags: ['pumps'] }).sort(), [
      'devices:read',
      'firmware:update',
    ]);
  });
});

describe('DeviceAccess', () => {
  const st = fakeStorage([
    device('in', 'f1'),
    device('out', 'b4'),
    device('tagged', null, ['pumps']),
    { ...device('foreign', 'f1'), orgId: 'org-2' },
  ]);
  const access = new DeviceAccess({ storage: st });
  const alice = principal(['devices:read'], [grant({ locationId: 'b3' })]);

  it('allows inside the group, refuses outside, unknown and other organizations’ devices', async () => {
    assert.equal(await access.permits(alice, 'in', 'devices:manage'), true);
    assert.equal(await access.permits(alice, 'out', 'devices:manage'), false);
    assert.equal(await access.permits(alice, 'in', 'firmware:update'), false);
    assert.equal(await access.permits(alice, 'missing', 'devices:manage'), false);
    assert.equal(await access.permits(alice, 'foreign', 'devices:manage'), false);
    await assert.rejects(access.require(alice, 'out', 'devices:manage'), { code: 'forbidden' });
  });

  it('org-wide permissions need no device lookup; port:* follows org:manage', async () => {
    const none = new DeviceAccess({ storage: fakeStorage([]) });
    assert.equal(await none.permits(principal(['devices:manage']), 'any', 'devices:manage'), true);
    assert.equal(await none.permits(principal(['org:manage']), 'any', 'port:ssh'), true);
    const ssh = principal([], [grant({ tag: 'pumps', permissions: ['port:ssh'] })]);
    assert.equal(await access.permits(ssh, 'tagged', 'port:ssh'), true);
    assert.equal(await access.permits(ssh, 'tagged', 'port:http'), false);
  });
});

describe('the grant policy on a group', () => {
  const st = fakeStorage([]);
  const onF1 = () => placeOfScope(st, ORG, { locationId: 'f1', tag: null });

  it('an org-wide holder may grant on any group; a scoped holder only within its own', async () => {
    checkScopedGrant(principal(['devices:manage']), await onF1(), ['devices:manage']);
    const dave = principal(['users:manage'], [grant({ locationId: 'b3' })]);
    checkScopedGrant(dave, await onF1(), ['devices:manage']);
    const b4 = await placeOfScope(st, ORG, { locationId: 'b4', tag: null });
    assert.throws(() => checkScopedGrant(dave, b4, ['devices:manage']), { code: 'forbidden' });
    const f1 = await onF1();
    assert.throws(() => checkScopedGrant(dave, f1, ['firmware:update']), {
      code: 'forbidden',
    });
    const anyPumps = await placeOfScope(st, ORG, { locationId: null, tag: 'pumps' });
    assert.throws(() => checkScopedGrant(dave, anyPumps, ['devices:manage']), {
      code: 'forbidden',
    });
  });
});

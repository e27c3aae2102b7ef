/**
 * Maintenance windows (decision 0030, amendment): which window covers an alert at a time — running,
 * of its kind, organization-wide or on its device's location subtree — and until when a delivery
 * is held back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WINDOW_RECHECK_MS,
  coveringWindow,
  heldUntil,
  windowCovers,
  windowStatus,
  type MaintenanceWindowRecord,
} from '@bulwark/core';

const win = (over: Partial<MaintenanceWindowRecord> = {}): MaintenanceWindowRecord => ({
  id: 'w1',
  orgId: 'o',
  locationId: null,
  kinds: [],
  startsAt: 1_000,
  endsAt: 2_000,
  reason: 'maintenance',
  createdBy: 'user:u',
  createdAt: 0,
  ...over,
});
const offline = { kind: 'device_offline', deviceId: 'd1' };
// The device sits in floor f1 of building b1 of site s1.
const path = ['f1', 'b1', 's1'];

describe('maintenance windows', () => {
  it('covers only while running: from its start (included) to its end (excluded)', () => {
    const w = win();
    assert.equal(windowCovers(w, offline, path, 999), false);
    assert.equal(windowCovers(w, offline, path, 1_000), true);
    assert.equal(windowCovers(w, offline, path, 1_999), true);
    assert.equal(windowCovers(w, offline, path, 2_000), false);
    assert.deepEqual(
      [999, 1_000, 2_000].map((t) => windowStatus(w, t)),
      ['scheduled', 'active', 'ended'],
    );
  });

  it('kinds narrow it; an organization-wide window covers alerts about no device', () => {
    assert.equal(windowCovers(win({ kinds: ['message_flood'] }), offline, path, 1_500), false);
    assert.equal(windowCovers(win({ kinds: ['device_offline'] }), offline, path, 1_500), true);
    assert.equal(windowCovers(win(), { kind: 'auth_bruteforce', deviceId: null }, [], 1_500), true);
  });

  it('a location window covers devices there and below, nothing elsewhere, and no fleet alert', () => {
    assert.equal(windowCovers(win({ locationId: 's1' }), offline, path, 1_500), true);
    assert.equal(windowCovers(win({ locationId: 'f1' }), offline, path, 1_500), true);
    assert.equal(windowCovers(win({ locationId: 's2' }), offline, path, 1_500), false);
    assert.equal(
      windowCovers(win({ locationId: 's1' }), { kind: 'x', deviceId: null }, [], 1_500),
      false,
    );
  });

  it('of several covering windows the one ending last holds; a recheck comes within a minute', () => {
    const short = win({ id: 'short', endsAt: 1_800 });
    const long = win({ id: 'long', endsAt: 1_000 + 3_600_000 });
    const elsewhere = win({ id: 'elsewhere', locationId: 's2', endsAt: 1_000 + 7_200_000 });
    assert.equal(coveringWindow([short, long, elsewhere], offline, path, 1_500)?.id, 'long');
    assert.equal(coveringWindow([short, elsewhere], offline, path, 1_900), undefined);
    assert.equal(heldUntil(short, 1_500), 1_800);
    assert.equal(heldUntil(long, 1_500), 1_500 + WINDOW_RECHECK_MS);
  });
});

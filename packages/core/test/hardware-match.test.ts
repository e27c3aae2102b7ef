import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch, hardwareAllowed } from '@bulwark/core';

describe('hardware ids a claim admits', () => {
  it('matches globs with * and ?', () => {
    assert.ok(globMatch('SN-2026-*', 'SN-2026-0001'));
    assert.ok(globMatch('SN-2026-*', 'SN-2026-'));
    assert.ok(!globMatch('SN-2026-*', 'SN-2025-0001'));
    assert.ok(globMatch('ZZ-??', 'ZZ-42'));
    assert.ok(!globMatch('ZZ-??', 'ZZ-420'));
    assert.ok(globMatch('*', 'anything'));
    assert.ok(globMatch('a*b*c', 'aXXbYYc'));
    assert.ok(!globMatch('a*b*c', 'aXXbYY'));
    // `.` is a literal, not "any character"
    assert.ok(!globMatch('a.b', 'axb'));
  });

  it('stays fast on a pattern built to backtrack', () => {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) assert.ok(!globMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(64)));
    assert.ok(performance.now() - t0 < 2000);
  });

  it('admits by allowlist or pattern; with neither, any id', () => {
    const rule = { hardwareIds: ['A-1'], hardwarePattern: 'B-*' };
    assert.ok(hardwareAllowed(rule, 'A-1'));
    assert.ok(hardwareAllowed(rule, 'B-7'));
    assert.ok(!hardwareAllowed(rule, 'A-2'));
    assert.ok(!hardwareAllowed({ hardwareIds: [], hardwarePattern: null }, 'A-1'));
    assert.ok(hardwareAllowed({ hardwareIds: null, hardwarePattern: null }, 'X'));
  });
});

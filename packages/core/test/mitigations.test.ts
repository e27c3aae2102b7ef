/**
 * The pure rules of mitigations (decision 0036): a policy matches an alert by kind, minimum
 * severity and location subtree; each action's parameters and permissions; the merge patch that
 * restores replaced desired values; which actions can be reverted and why not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MITIGATION_NOTICE_KIND,
  checkKinds,
  createMemoryEvents,
  startMitigationRunner,
  checkParams,
  locationPath,
  missingForAction,
  notReversible,
  policyMatches,
  restoringPatch,
  targetRefusal,
  type MitigationRecord,
} from '@bulwark/core';

const policy = {
  enabled: true,
  kinds: ['cloned_certificate', 'auth_bruteforce'],
  minSeverity: 'high' as const,
  locationId: null as string | null,
};

describe('mitigation policies match alerts', () => {
  it('by kind: only the kinds it names', () => {
    assert.equal(
      policyMatches(policy, { kind: 'cloned_certificate', severity: 'critical' }, []),
      true,
    );
    assert.equal(policyMatches(policy, { kind: 'auth_bruteforce', severity: 'high' }, []), true);
    assert.equal(policyMatches(policy, { kind: 'message_flood', severity: 'critical' }, []), false);
  });

  it('by severity: at least the minimum', () => {
    for (const [severity, want] of [
      ['info', false],
      ['low', false],
      ['medium', false],
      ['high', true],
      ['critical', true],
    ] as const)
      assert.equal(
        policyMatches(policy, { kind: 'auth_bruteforce', severity }, []),
        want,
        severity,
      );
  });

  it('by location subtree: the location and every location below it, not beside or above', () => {
    const parents = new Map<string, string | null>([
      ['site', null],
      ['building', 'site'],
      ['floor', 'building'],
      ['other-site', null],
    ]);
    const onBuilding = { ...policy, locationId: 'building' };
    const alert = { kind: 'auth_bruteforce', severity: 'high' } as const;
    assert.equal(policyMatches(onBuilding, alert, locationPath('floor', parents)), true);
    assert.equal(policyMatches(onBuilding, alert, locationPath('building', parents)), true);
    assert.equal(policyMatches(onBuilding, alert, locationPath('site', parents)), false);
    assert.equal(policyMatches(onBuilding, alert, locationPath('other-site', parents)), false);
    assert.equal(policyMatches(onBuilding, alert, []), false, 'a device without a location');
    assert.equal(policyMatches(policy, alert, []), true, 'no location: the whole organization');
  });

  it('never when disabled, and never on the notice alerts mitigations raise (no loops)', () => {
    const alert = { kind: 'auth_bruteforce', severity: 'critical' } as const;
    assert.equal(policyMatches({ ...policy, enabled: false }, alert, []), false);
    const onNotice = { ...policy, kinds: [MITIGATION_NOTICE_KIND] };
    assert.equal(
      policyMatches(onNotice, { kind: MITIGATION_NOTICE_KIND, severity: 'critical' }, []),
      false,
    );
    assert.throws(() => checkKinds([MITIGATION_NOTICE_KIND]), /loop/);
    assert.throws(() => checkKinds([]), /1 to 50/);
    assert.throws(() => checkKinds(['Not-A-Kind']), /alert kind/);
    assert.deepEqual(checkKinds(['a', 'a', 'b']), ['a', 'b']);
  });
});

describe('mitigation actions: parameters and permissions', () => {
  it('parameters are checked per action; unknown ones refused', () => {
    assert.deepEqual(checkParams('quarantine', {}), {});
    assert.throws(() => checkParams('quarantine', { force: true }), /no parameters; not force/);
    assert.deepEqual(checkParams('revoke', {}), { reason: 'keyCompromise' });
    assert.throws(() => checkParams('revoke', { reason: 'superseded' }), /revoke.reason/);
    assert.deepEqual(checkParams('revoke', { serial: '0a1b' }), {
      reason: 'keyCompromise',
      serial: '0a1b',
    });
    assert.throws(() => checkParams('revoke', { serial: 'zz' }), /revoke.serial/);
    assert.throws(() => checkParams('revoke', { serial: '0a', keyId: 'k' }), /not both/);
    assert.throws(() => checkParams('set_desired', {}), /non-empty JSON object/);
    assert.throws(() => checkParams('set_desired', { patch: [1] }), /non-empty JSON object/);
    assert.throws(
      () => checkParams('set_desired', { patch: { big: 'x'.repeat(9000) } }),
      /larger than 8 KiB/,
    );
    assert.throws(() => checkParams('start_update', {}), /artifactId/);
    assert.throws(
      () => checkParams('start_update', { artifactId: 'a', timeoutSeconds: 0 }),
      /timeoutSeconds/,
    );
    assert.deepEqual(checkParams('notify', {}), { severity: 'high' });
    assert.throws(() => checkParams('notify', { severity: 'dire' }), /notify.severity/);
    assert.throws(() => checkParams('explode' as never, {}), /unknown action/);
  });

  it('each action needs the permission of the route that does the same by hand', () => {
    assert.deepEqual(missingForAction(['devices:manage'], 'quarantine'), []);
    assert.deepEqual(missingForAction(['devices:read'], 'revoke'), ['devices:manage']);
    assert.deepEqual(missingForAction(['devices:manage'], 'start_update'), ['firmware:update']);
    assert.deepEqual(missingForAction(['firmware:update'], 'start_update'), []);
  });
});

describe('never punish the target of an alert', () => {
  it('quarantine and revoke are refused on auth_bruteforce, alone or among other kinds; other actions and kinds pass', () => {
    for (const action of ['quarantine', 'revoke'] as const) {
      assert.match(targetRefusal(['auth_bruteforce'], action) ?? '', /guessed at/);
      assert.match(
        targetRefusal(['message_flood', 'auth_bruteforce'], action) ?? '',
        new RegExp(`may not ${action} on auth_bruteforce`),
      );
      for (const kind of [
        'cloned_certificate',
        'message_flood',
        'new_listening_port',
        'disallowed_connection',
        'connection_churn',
        'renewal_outside_schedule',
      ])
        assert.equal(targetRefusal([kind], action), null, kind);
    }
    for (const action of ['notify', 'set_desired', 'start_update'] as const)
      assert.equal(targetRefusal(['auth_bruteforce'], action), null, action);
    // A lookalike key on the prototype is no kind of ours.
    assert.equal(targetRefusal(['toString', 'constructor'], 'quarantine'), null);
  });
});

describe('reverting', () => {
  it('restoringPatch puts back replaced values and deletes added keys, leaving untouched keys alone', () => {
    const current = { net: { allow: ['a', 'b'], dns: 'x' }, mode: 'open', keep: 1 };
    const patch = { net: { allow: ['a'], extra: true }, mode: 'closed', lockdown: true };
    assert.deepEqual(restoringPatch(current, patch), {
      net: { allow: ['a', 'b'], extra: null },
      mode: 'open',
      lockdown: null,
    });
    // A patch that deletes a key (null) restores it; an object over a scalar restores the scalar.
    assert.deepEqual(restoringPatch({ a: 1, b: 'v' }, { a: null, b: { c: 1 } }), { a: 1, b: 'v' });
  });

  const m = (over: Partial<MitigationRecord>): MitigationRecord => ({
    id: 'm',
    orgId: 'o',
    deviceId: 'd',
    alertId: null,
    policyId: null,
    actor: 'user:u',
    action: 'quarantine',
    params: {},
    state: 'applied',
    reason: null,
    summary: [],
    previous: { state: 'active' },
    error: null,
    at: 0,
    revertedAt: null,
    revertedBy: null,
    ...over,
  });

  it('applied quarantine, release, set_desired and start_update can be reverted; the rest say why not', () => {
    assert.equal(notReversible(m({})), null);
    assert.equal(notReversible(m({ action: 'set_desired', previous: { restore: {} } })), null);
    assert.equal(notReversible(m({ action: 'start_update', previous: { jobId: 'j' } })), null);
    assert.match(notReversible(m({ action: 'revoke', previous: null }))!, /revocation is final/);
    assert.match(notReversible(m({ action: 'notify' }))!, /cannot be taken back/);
    assert.match(notReversible(m({ state: 'dry_run' }))!, /dry run changed nothing/);
    assert.match(notReversible(m({ state: 'failed' }))!, /failed/);
    assert.match(notReversible(m({ state: 'reverted' }))!, /already reverted/);
    assert.match(notReversible(m({ previous: null }))!, /changed nothing/);
  });
});

describe('the policy runner', () => {
  it("answers this node's alert.opened and alert.reopened (with or without a device), nothing else", async () => {
    const events = createMemoryEvents({ nodeId: 'node-a' });
    const seen: string[] = [];
    const runner = startMitigationRunner({
      events,
      nodeId: 'node-a',
      mitigations: {
        onAlert: async (a) => {
          seen.push(`${a.id}:${a.kind}:${a.severity}:${a.deviceId}`);
          return [];
        },
      },
      onError: (err) => assert.fail(err as Error),
    });
    const base = { orgId: 'o', at: 1, kind: 'k', severity: 'high', deviceId: 'd' };
    events.emit({ ...base, type: 'alert.opened', alertId: '1' });
    events.emit({ ...base, type: 'alert.reopened', alertId: '2' });
    events.emit({ ...base, type: 'alert.resolved', alertId: '3' });
    events.emit({ ...base, type: 'alert.acknowledged', alertId: '4' });
    events.emit({ ...base, type: 'alert.opened', alertId: '5', deviceId: null });
    // Another node's alert: that node mitigates it.
    events.deliver({ ...base, type: 'alert.opened', alertId: '6', origin: 'node-b' });
    await events.flush();
    await runner.idle();
    // An alert about no device reaches the service too: its source may be blocked.
    assert.deepEqual(seen, ['1:k:high:d', '2:k:high:d', '5:k:high:null']);
    await runner.stop();
    events.emit({ ...base, type: 'alert.opened', alertId: '7' });
    await events.flush();
    assert.equal(seen.length, 3, 'stopped');
  });
});

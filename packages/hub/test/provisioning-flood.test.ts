/**
 * A flood of bad claims (decision 0027): failures are counted per source address before the token
 * is looked up, so past the threshold the source waits (429 with Retry-After) — a valid claim from
 * it too — and the audit log samples the anonymous failures instead of growing a row per request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PROVISIONING_CONFIG } from '@bulwark/core';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { raw, setupOwner, startTestHub, type TestHub } from './helpers.js';

const THRESHOLD = 5;

describe('a flood of bad claims', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    // The threshold is the hub's setting (default 20); a lower one shows the flag is honoured.
    t = await startTestHub(['--claim-failures-per-source', String(THRESHOLD)]);
    s = await setupOwner(t);
  });
  after(() => t.close());

  it('blocks the source past the threshold, valid claims included, and samples the audit', async () => {
    const { token } = await s.api.provisioning.createClaim({
      name: 'line 3',
      template: { type: 'esp32' },
      maxDevices: 100,
      ttlSeconds: 3600,
      hardwarePattern: 'L3-*',
    });
    const { csrPem } = await generateDeviceKeyAndCsr();
    const threshold = THRESHOLD;
    const auditBefore = (await s.api.audit.list({ limit: 500 })).items.length;
    const statuses: number[] = [];
    // 200 guesses, a bounded loop: the first `threshold` are refused as invalid, the rest wait.
    for (let i = 0; i < 200; i++) {
      const r = await raw(t, 'POST', '/provisioning/claim', {
        token: `bwc_guess${i}`,
        hardwareId: `L3-${i}`,
        csr: csrPem,
      });
      statuses.push(r.status);
    }
    assert.equal(statuses.filter((x) => x === 401).length, threshold);
    assert.equal(statuses.filter((x) => x === 429).length, 200 - threshold);
    const blocked = await raw(t, 'POST', '/provisioning/claim', {
      token,
      hardwareId: 'L3-ok',
      csr: csrPem,
    });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.json['code'], 'rate_limited');
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    // 201 anonymous failures: one audited row, the rest counted into a later summary.
    const auditAfter = (await s.api.audit.list({ limit: 500 })).items.length;
    assert.ok(auditAfter - auditBefore <= 2, `${auditAfter - auditBefore} audit rows`);
    // Once the block has passed, the valid claim works.
    t.clock.advance(DEFAULT_PROVISIONING_CONFIG.failures.baseBlockMs + 1000);
    const ok = await raw(t, 'POST', '/provisioning/claim', {
      token,
      hardwareId: 'L3-ok',
      csr: csrPem,
    });
    assert.equal(ok.status, 201, ok.text);
  });
});

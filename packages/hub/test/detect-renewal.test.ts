/**
 * renewal_outside_schedule (decision 0034, amendment of 2026-12-07) on a real hub: the agent
 * renews once 2/3 of its certificate's lifetime has passed, so a renewal right after enrollment
 * is far off its schedule and raises the alert with the lineage and the lifetime used; with the
 * early check off (minLifetimeFraction 0), a second renewal within the window raises it by count.
 * A renewal at the schedule (the hub's clock moved past 2/3 of the lifetime) raises nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { eventually, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { waitForAlert } from './detect-helpers.js';

interface Held {
  serial: string;
  cert: string;
  key: string;
}

describe('renewals outside the agent schedule', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let secops: BulwarkClient; // an API key: it outlives the owner's session when the clock moves

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    const { key } = await s.owner.apiKeys.create({
      name: 'secops',
      permissions: ['audit:read', 'detect:manage', 'devices:read'],
    });
    secops = t.client(key);
  });
  after(async () => {
    await t?.close();
  });

  async function enrolled(name: string): Promise<{ deviceId: string; first: Held }> {
    const device = await s.api.devices.create({ name, type: 'rpi4' });
    const { token } = await s.api.devices.createEnrollmentToken(device.id, {});
    const k = await generateDeviceKeyAndCsr();
    const issued = await t.client().enroll({ token, csr: k.csrPem });
    return {
      deviceId: device.id,
      first: { serial: issued.serial, cert: issued.certificate, key: k.keyPem },
    };
  }
  async function renew(h: Held): Promise<Held> {
    const fresh = await generateDeviceKeyAndCsr();
    const asDevice = t.client(undefined, { cert: h.cert, key: h.key });
    const r = await asDevice.call('renewCertificate', { body: { csr: fresh.csrPem } });
    return { serial: r.serial, cert: r.certificate, key: fresh.keyPem };
  }
  const renewalAlerts = async (deviceId: string) =>
    (await s.api.alerts.list({ limit: 200 })).items.filter(
      (a) => a.kind === 'renewal_outside_schedule' && a.deviceId === deviceId,
    );

  it('a renewal right after enrollment is far off the schedule: an alert with the lineage', async () => {
    const d = await enrolled('early');
    const second = await renew(d.first);
    const alert = await waitForAlert(s.api, 'renewal_outside_schedule', d.deviceId);
    const e = alert.evidence;
    assert.equal(alert.severity, 'medium');
    assert.equal(e['metric'], 'certificate_lifetime_used');
    assert.equal(e['serial'], second.serial);
    assert.equal(e['renewedFrom'], d.first.serial);
    assert.ok((e['lifetimeUsed'] as number) < 0.01, JSON.stringify(e));
    assert.deepEqual(e['expected'], { low: 0.5, high: null });
    assert.match(
      alert.title,
      /renewed at 0 % of the certificate's lifetime \(expected at least 50 %\)/,
    );
  });

  it('with the early check off, a second renewal within the window fires by count', async () => {
    await s.owner.detect.updateRule('renewal_outside_schedule', { minLifetimeFraction: 0 });
    const d = await enrolled('twice');
    const second = await renew(d.first);
    // One renewal: under the threshold (2 in 24 h); nothing.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await renewalAlerts(d.deviceId), []);
    const third = await renew(second);
    const alert = await waitForAlert(s.api, 'renewal_outside_schedule', d.deviceId);
    assert.equal(alert.evidence['metric'], 'renewals');
    assert.equal(alert.evidence['observed'], 2);
    assert.deepEqual(alert.evidence['expected'], { low: null, high: 1 });
    assert.equal(alert.evidence['serial'], third.serial);
    assert.equal((alert.evidence['renewals'] as string[]).length, 2);
  });

  it("the device view counts renewals over the rule's window, not the in-memory 15 minutes", async () => {
    const d = await enrolled('counted');
    const second = await renew(d.first);
    await renew(second);
    const count = async () => {
      const v = await secops.detect.device(d.deviceId);
      const m = v.metrics.find((x) => x.ruleId === 'renewal_outside_schedule');
      assert.ok(m);
      assert.equal(m.windowSeconds, 86_400);
      return m.current;
    };
    assert.equal(await count(), 2);
    // Past what the in-memory counters remember, still inside the rule's day.
    t.clock.advance(20 * 60_000);
    assert.equal(await count(), 2);
    t.clock.advance(24 * 3_600_000);
    assert.equal(await count(), 0, 'out of the window');
  });

  it('a renewal at the schedule raises nothing; bad settings are refused and change nothing', async () => {
    await secops.detect.updateRule('renewal_outside_schedule', { minLifetimeFraction: 0.5 });
    const d = await enrolled('on-time');
    // 250 of the certificate's 365 days later: past 2/3, where the agent renews.
    t.clock.advance(250 * 86_400_000);
    await renew(d.first);
    // The renewal was judged (the engine tracks the device) and raised nothing.
    await eventually(
      () => t.hub.services.detect.engine.tracked(s.orgId, d.deviceId),
      'the device tracked',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await renewalAlerts(d.deviceId), []);
    const before = await secops.detect.rule('renewal_outside_schedule');
    for (const bad of [{ minLifetimeFraction: 1.5 }, { minLifetimeFraction: -1 }, { k: 3 }])
      await assert.rejects(secops.detect.updateRule('renewal_outside_schedule', bad));
    // Another rule's window stays within the counters' memory.
    await assert.rejects(
      secops.detect.updateRule('connection_churn', { windowSeconds: 3600 }),
      /at most 900 s/,
    );
    await assert.rejects(
      secops.detect.updateRule('connection_churn', { minLifetimeFraction: 0.2 }),
    );
    assert.deepEqual(await secops.detect.rule('renewal_outside_schedule'), before);
  });
});

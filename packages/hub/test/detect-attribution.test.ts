/**
 * Who sees a brute force (decision 0034, amendment of 2026-12-07), on a real hub over real
 * MQTT/TLS on loopback: guesses naming a certificate-only device of organization B go to B, on
 * that device; guesses naming ids no device has go to the hub operator's organization (the oldest
 * one here, as for hub-wide findings), without a device, with the source and the identities tried
 * and never the guessed secrets; neither organization sees the other's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertView } from '@bulwark/protocol';
import type { BulwarkClient } from '@bulwark/sdk';
import { eventually, PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls } from './mqtt-helpers.js';
import { waitForAlert } from './detect-helpers.js';

describe('brute force attribution end to end', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let orgB: BulwarkClient;

  /** `n` wrong device keys for `username` from `localAddress`; every one is refused. */
  async function guess(username: string, localAddress: string, n: number, secrets: string[]) {
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const password = `bwd_guess_${localAddress.replaceAll('.', '')}_${secrets.length}`;
      secrets.push(password);
      await connectTls(t, {
        username,
        password,
        clientId: username,
        ...{ localAddress }, // passed on to the socket (not in MQTT.js's types)
      }).then(
        (c) => c.end(true),
        () => refused++,
      );
    }
    assert.equal(refused, n);
  }
  const bruteForces = async (api: BulwarkClient): Promise<AlertView[]> =>
    (await api.alerts.list({ limit: 500 })).items.filter((a) => a.kind === 'auth_bruteforce');

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    const org = await s.owner.orgs.create({ name: 'Tenant B' });
    const { accessToken } = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org.id,
    });
    orgB = t.client(accessToken);
  });
  after(async () => {
    await t?.close();
  });

  it("guesses at a certificate-only device's id go to its organization, on that device", async () => {
    // No device key at all: only its id names it (bench:monitor's password-guess).
    const victim = await orgB.devices.create({ name: 'cert-only', type: 'sensor' });
    const secrets: string[] = [];
    await guess(victim.id, '127.0.0.5', 12, secrets);
    const alert = await waitForAlert(orgB, 'auth_bruteforce', victim.id);
    assert.equal(alert.evidence['source'], '127.0.0.5');
    assert.deepEqual(alert.evidence['subjects'], [`device:${victim.id}`]);
    assert.equal(alert.evidence['attribution'], 'organization');
    for (const secret of secrets) assert.ok(!JSON.stringify(alert).includes(secret));
    // The operator's organization does not see B's device or its guesser.
    const mine = await bruteForces(s.api);
    assert.ok(!mine.some((a) => a.evidence['source'] === '127.0.0.5'), JSON.stringify(mine));
  });

  it("guesses at ids no device has go to the hub operator's organization, with no device", async () => {
    const secrets: string[] = [];
    const ids = ['01JUNKNOWN0000000000000001', 'admin', 'root'];
    for (const id of ids) await guess(id, '127.0.0.6', 4, secrets); // 12 failures, 4 per id
    const alert = await waitForAlert(s.api, 'auth_bruteforce', null);
    assert.equal(alert.deviceId, null);
    assert.equal(alert.severity, 'high');
    assert.equal(alert.evidence['source'], '127.0.0.6');
    assert.equal(alert.evidence['attribution'], 'hub_operator');
    assert.ok((alert.evidence['observed'] as number) >= 10);
    assert.deepEqual(
      [...(alert.evidence['subjects'] as string[])].sort(),
      ids.map((id) => `device:${id}`).sort(),
    );
    for (const secret of secrets) assert.ok(!JSON.stringify(alert).includes(secret));
    // Organization B sees nothing of it.
    const theirs = await bruteForces(orgB);
    assert.ok(!theirs.some((a) => a.evidence['source'] === '127.0.0.6'), JSON.stringify(theirs));
  });

  it("naming B's device among unknown ids does not bring the unknown ones into B's view", async () => {
    const victim = await orgB.devices.create({ name: 'second', type: 'sensor' });
    const secrets: string[] = [];
    // From one source: 4 at B's device (under B's threshold, under the per-device lock) and 12
    // at unknown ids (over the operator's threshold).
    await guess(victim.id, '127.0.0.7', 4, secrets);
    for (const id of ['ghost-1', 'ghost-2', 'ghost-3']) await guess(id, '127.0.0.7', 4, secrets);
    const op = await eventually(
      async () => (await bruteForces(s.api)).find((a) => a.evidence['source'] === '127.0.0.7'),
      "the operator's alert about 127.0.0.7",
    );
    assert.equal(op.deviceId, null);
    assert.ok(!(op.evidence['subjects'] as string[]).includes(`device:${victim.id}`));
    // B: 4 failures against its device are under its threshold: no alert, and never the ghosts.
    const theirs = await bruteForces(orgB);
    assert.ok(!theirs.some((a) => a.evidence['source'] === '127.0.0.7'), JSON.stringify(theirs));
  });
});

describe('security monitoring switched off (--detect off)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub(['--detect', 'off']);
    s = await setupOwner(t);
  });
  after(async () => {
    await t?.close();
  });

  it('counts, learns and raises nothing; the rules API still answers', async () => {
    const engine = t.hub.services.detect.engine;
    assert.equal(engine.enabled, false);
    for (let i = 0; i < 12; i++)
      await assert.rejects(
        connectTls(t, { username: `nobody-${i}`, password: 'bwd_x', clientId: `nobody-${i}` }),
      );
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(engine.size, { devices: 0, sources: 0, gates: 0 });
    assert.equal(engine.fired, 0);
    assert.deepEqual(
      (await s.api.alerts.list({ limit: 100 })).items.filter((a) => a.kind === 'auth_bruteforce'),
      [],
    );
    const rule = await s.api.detect.rule('auth_bruteforce');
    assert.equal(rule.settings.enabled, true);
  });
});

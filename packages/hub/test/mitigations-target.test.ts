/**
 * A brute force names its victim, not its culprit (decision 0036, amendment of 2026-12-07), on a
 * real hub over real MQTT/TLS on loopback: a policy that would quarantine or revoke the device an
 * `auth_bruteforce` alert names is refused when created or edited; one already stored (written to
 * the store directly, as a policy from before the change would be) is skipped when someone guesses
 * keys at the device — recorded and audited with the reason — and the device stays active,
 * connected and able to publish with its certificate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { waitForAlert } from './detect-helpers.js';

describe('mitigations never punish the target of a brute force', () => {
  let t: TestHub;
  let a: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const clients: MqttClient[] = [];

  before(async () => {
    t = await startTestHub();
    a = await setupOwner(t);
    channelId = (await a.api.channels.create({ name: 'victims' })).id;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await t?.close();
  });

  it('a policy quarantining or revoking on auth_bruteforce is refused at creation and on edit', async () => {
    for (const action of ['quarantine', 'revoke'] as const) {
      const e = await rejectsWith(
        a.api.mitigations.policies.create({
          name: `${action} guessed devices`,
          kinds: ['message_flood', 'auth_bruteforce'],
          action,
        }),
        'mitigation_punishes_target',
      );
      assert.equal(e.status, 400);
      assert.match(e.message, new RegExp(`may not ${action} on auth_bruteforce alerts`));
      assert.match(e.message, /device whose id was guessed at/);
    }
    assert.equal((await a.api.mitigations.policies.list()).length, 0, 'nothing written');
    // Editing a policy into one is refused too, both by its kinds and by its action.
    const quarantine = await a.api.mitigations.policies.create({
      name: 'contain floods',
      kinds: ['message_flood'],
      action: 'quarantine',
    });
    await rejectsWith(
      a.api.mitigations.policies.update(quarantine.id, { kinds: ['auth_bruteforce'] }),
      'mitigation_punishes_target',
    );
    const notify = await a.api.mitigations.policies.create({
      name: 'tell about guessing',
      kinds: ['auth_bruteforce'],
      action: 'notify',
    });
    await rejectsWith(
      a.api.mitigations.policies.update(notify.id, { action: 'revoke' }),
      'mitigation_punishes_target',
    );
    assert.deepEqual((await a.api.mitigations.policies.get(quarantine.id)).kinds, [
      'message_flood',
    ]);
    assert.equal((await a.api.mitigations.policies.get(notify.id)).action, 'notify');
    // A clone's take-over needs the credential itself: quarantine and revoke stay allowed there.
    const clone = await a.api.mitigations.policies.create({
      name: 'revoke clones',
      kinds: ['cloned_certificate'],
      action: 'revoke',
    });
    for (const p of [quarantine, notify, clone]) await a.api.mitigations.policies.delete(p.id);
  });

  it('a stored quarantine/revoke policy on auth_bruteforce is skipped and audited; the victim keeps connecting', async () => {
    // Two policies as they could have been stored before the refusal: copies of an accepted
    // policy, written to the store with the brute-force kind.
    const template = await a.api.mitigations.policies.create({
      name: 'template',
      kinds: ['message_flood'],
      action: 'quarantine',
    });
    const stored = await t.hub.storage.mitigations.getPolicy(a.orgId, template.id);
    assert.ok(stored);
    await a.api.mitigations.policies.delete(template.id);
    const ids = {
      quarantine: '01900000-0000-7000-8000-0000000000a1',
      revoke: '01900000-0000-7000-8000-0000000000a2',
    };
    for (const action of ['quarantine', 'revoke'] as const)
      await t.hub.storage.mitigations.createPolicy({
        ...stored,
        id: ids[action],
        name: `old ${action} on guessing`,
        kinds: ['auth_bruteforce'],
        minSeverity: 'medium',
        action,
        params: action === 'revoke' ? { reason: 'keyCompromise' } : {},
      });

    const victim = await a.api.devices.create({ name: 'victim', type: 'sensor' });
    await a.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: victim.id,
      publish: true,
      subscribe: true,
    });
    const { token } = await a.api.devices.createEnrollmentToken(victim.id, {});
    const k = await generateDeviceKeyAndCsr();
    const tls = {
      cert: (await t.client().enroll({ token, csr: k.csrPem })).certificate,
      key: k.keyPem,
    };
    const topic = `channels/${channelId}/messages/m`;
    const live = await connectTls(t, { ...tls, clientId: victim.id });
    clients.push(live);
    assert.equal(await publish(live, topic, 'before'), 0);

    // Someone who only knows the id guesses keys at it from another address.
    let refused = 0;
    for (let i = 0; i < 12; i++)
      await connectTls(t, {
        username: victim.id,
        password: `bwd_guess_${i}`,
        clientId: `guesser-${i}`,
        ...{ localAddress: '127.0.0.9' },
      }).then(
        (c) => c.end(true),
        () => refused++,
      );
    assert.equal(refused, 12);
    const alert = await waitForAlert(a.api, 'auth_bruteforce', victim.id);
    assert.equal(alert.evidence['source'], '127.0.0.9');
    await t.hub.mitigationRunner.idle();

    const log = (await a.api.mitigations.list({ alertId: alert.id })).items;
    assert.deepEqual(log.map((m) => m.action).sort(), ['quarantine', 'revoke']);
    for (const m of log) {
      assert.equal(m.state, 'skipped');
      assert.equal(m.deviceId, victim.id);
      assert.deepEqual(m.summary, []);
      assert.equal(m.previous, null);
      assert.match(m.error ?? '', /auth_bruteforce alert names the device whose id was guessed at/);
    }
    const audited = await a.api.audit.list({ action: 'mitigation.skipped', target: victim.id });
    assert.equal(audited.items.length, 2);
    assert.ok(audited.items.every((e) => e.result === 'failure'));
    const e = await rejectsWith(a.api.mitigations.revert(log[0]!.id), 'mitigation_not_reversible');
    assert.match(e.message, /skipped/);

    // The victim is untouched: active, its certificate live, its session up and publishing.
    assert.equal((await a.api.devices.get(victim.id)).state, 'active');
    const certs = await t.hub.storage.pki.listCertificates(a.orgId, victim.id);
    assert.ok(certs.length > 0 && certs.every((c) => c.revokedAt === null));
    assert.equal(live.connected, true);
    assert.equal(await publish(live, topic, 'after the guessing'), 0);
    const again = await connectTls(t, { ...tls, clientId: victim.id });
    clients.push(again);
    assert.equal(await publish(again, topic, 'reconnected'), 0);
  });
});

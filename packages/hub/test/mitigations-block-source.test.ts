/**
 * `block_source` (decision 0036, amendment "block_source") on a real hub over real MQTT/TLS and
 * HTTPS on loopback: the answer to a brute force is its source. A policy blocks the source of an
 * `auth_bruteforce` alert — never its target — and from then on every authentication from that
 * address is refused (MQTT certificate and device key, HTTP ingest), even with a valid
 * credential, in any spelling of the address, while other sources and the victim's live session
 * are untouched. A person can block by hand (dry run first), release it (revert), and the block
 * ends by itself. The hub's own loopback is never blocked; a policy or request that names no
 * source is refused with the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { Agent, fetch as undiciFetch } from 'undici';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { problemType } from '@bulwark/protocol';
import { eventually, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';
import { waitForAlert } from './detect-helpers.js';

const ATTACKER = '127.0.0.9';

/** The client of an admitted connection (fails with the refusal otherwise). */
async function admitted(p: Promise<MqttClient | string>): Promise<MqttClient> {
  const c = await p;
  if (typeof c === 'string') assert.fail(`refused: ${c}`);
  return c;
}

/** The refusal of a connection (fails if it was admitted). */
async function refused(p: Promise<MqttClient | string>): Promise<string> {
  const c = await p;
  if (typeof c !== 'string') {
    c.end(true);
    assert.fail('admitted');
  }
  return c;
}

describe('block_source: a brute force answered at its source', () => {
  let t: TestHub;
  let a: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const clients: MqttClient[] = [];

  /** A device with a certificate and a key, connected to the channel. */
  async function device(name: string) {
    const d = await a.api.devices.create({ name, type: 'sensor' });
    await a.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    const { token } = await a.api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const tls = {
      cert: (await t.client().enroll({ token, csr: k.csrPem })).certificate,
      key: k.keyPem,
    };
    const { key } = await a.api.devices.createKey(d.id);
    return { id: d.id, tls, key };
  }

  /** Connects with a certificate from `localAddress`: the client, or the refusal's message. */
  async function certFrom(d: Awaited<ReturnType<typeof device>>, localAddress: string) {
    return connectTls(t, { ...d.tls, clientId: d.id, ...{ localAddress } }).then(
      (c) => {
        clients.push(c);
        return c;
      },
      (e: Error) => e.message,
    );
  }

  /** HTTP ingest with a device key from `localAddress`: the status and problem type. */
  async function ingestFrom(d: Awaited<ReturnType<typeof device>>, localAddress: string) {
    const dispatcher = new Agent({ localAddress, connect: { ca: t.ca } });
    const res = await undiciFetch(`${t.url}/api/v1/channels/${channelId}/messages`, {
      method: 'POST',
      dispatcher,
      headers: {
        authorization: `Basic ${Buffer.from(`${d.id}:${d.key}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ v: 1 }),
    });
    const body = res.status >= 400 ? ((await res.json()) as { type?: string }) : {};
    await dispatcher.close();
    return { status: res.status, type: body.type ?? null };
  }

  /** A certificate connection from `localAddress` once it is admitted (polls; bounded). */
  function admittedFrom(d: Awaited<ReturnType<typeof device>>, localAddress: string) {
    return eventually(
      async () => {
        const c = await certFrom(d, localAddress);
        return typeof c === 'string' ? undefined : c;
      },
      `admission from ${localAddress}`,
      { tries: 30, everyMs: 100 },
    );
  }

  before(async () => {
    t = await startTestHub();
    a = await setupOwner(t);
    channelId = (await a.api.channels.create({ name: 'site' })).id;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await t?.close();
  });

  it('a block_source policy answers only alerts that name a source, and takes no address', async () => {
    const e = await rejectsWith(
      a.api.mitigations.policies.create({
        name: 'block floods',
        kinds: ['auth_bruteforce', 'message_flood'],
        action: 'block_source',
      }),
      'mitigation_no_source',
    );
    assert.equal(e.status, 400);
    assert.match(e.message, /message_flood alerts name none/);
    await rejectsWith(
      a.api.mitigations.policies.create({
        name: 'block one',
        kinds: ['auth_bruteforce'],
        action: 'block_source',
        params: { source: '192.0.2.1' },
      }),
      'mitigation_invalid',
    );
    await rejectsWith(
      a.api.mitigations.policies.create({
        name: 'block forever',
        kinds: ['auth_bruteforce'],
        action: 'block_source',
        params: { durationSeconds: 86_401 },
      }),
      'mitigation_invalid',
    );
    assert.equal((await a.api.mitigations.policies.list()).length, 0, 'nothing written');
  });

  it("a brute force's source is blocked on every way in; the victim and other sources are not", async () => {
    const policy = await a.api.mitigations.policies.create({
      name: 'block guessers',
      kinds: ['auth_bruteforce'],
      minSeverity: 'medium',
      action: 'block_source',
      params: { durationSeconds: 600 },
    });
    const victim = await device('victim');
    const mole = await device('mole'); // a valid credential the attacker also holds
    const topic = `channels/${channelId}/messages/m`;
    const live = await admitted(certFrom(victim, '127.0.0.1'));
    assert.equal(await publish(live, topic, 'before'), 0);
    // Before the guessing the attacker's address gets in with a valid credential.
    const early = await admitted(certFrom(mole, ATTACKER));
    early.end(true);

    // Someone guesses keys at the victim's id from ATTACKER: 12 refusals lock the pair and raise
    // the alert (on the victim, the target); the policy blocks ATTACKER.
    for (let i = 0; i < 12; i++)
      await connectTls(t, {
        username: victim.id,
        password: `bwd_guess_${i}`,
        clientId: `guesser-${i}`,
        ...{ localAddress: ATTACKER },
      }).then(
        (c) => c.end(true),
        () => undefined,
      );
    const alert = await waitForAlert(a.api, 'auth_bruteforce', victim.id);
    await t.hub.mitigationRunner.idle();
    const [m, ...more] = (await a.api.mitigations.list({ alertId: alert.id })).items;
    assert.equal(more.length, 0);
    assert.ok(m);
    assert.equal(m.action, 'block_source');
    assert.equal(m.state, 'applied');
    assert.equal(m.policyId, policy.id);
    assert.equal(m.deviceId, null, 'the action is on the source, never on the target device');
    assert.equal(m.params['source'], ATTACKER);
    assert.equal(m.previous?.['source'], ATTACKER);
    assert.equal(m.previous?.['hubWide'], true, "the hub operator's organization blocks hub-wide");
    assert.equal(m.previous?.['until'], t.clock.now() + 600_000);
    assert.match(m.summary.join('\n'), /block new authentications from 127\.0\.0\.9/);
    const audited = await a.api.audit.list({ action: 'mitigation.applied', target: ATTACKER });
    assert.equal(audited.items.length, 1);

    // Every way in from ATTACKER is refused, even with a valid credential: an MQTT certificate,
    // an MQTT device key, HTTP ingest with a device key.
    // A certificate is checked during the TLS handshake: the hub closes it before any CONNACK.
    assert.match(await refused(certFrom(mole, ATTACKER)), /closed before CONNACK|Banned/i);
    const byKey = await connectTls(t, {
      username: mole.id,
      password: mole.key,
      clientId: mole.id,
      ...{ localAddress: ATTACKER },
    }).then(
      (c) => (c.end(true), 'admitted'),
      (e: Error) => e.message,
    );
    assert.match(byKey, /Banned/i);
    assert.deepEqual(await ingestFrom(mole, ATTACKER), {
      status: 403,
      type: problemType('source_blocked'),
    });

    // Other sources are not disturbed; the victim's live session is not cut, it still publishes,
    // and it reconnects.
    await admitted(certFrom(mole, '127.0.0.10'));
    assert.equal((await ingestFrom(mole, '127.0.0.10')).status, 202);
    assert.equal(live.connected, true);
    assert.equal(await publish(live, topic, 'after the block'), 0);
    await admitted(certFrom(victim, '127.0.0.1'));
    assert.equal((await a.api.devices.get(victim.id)).state, 'active');

    // The block ends by itself.
    t.clock.advance(601_000);
    const late = await admitted(certFrom(mole, ATTACKER));
    late.end(true);
    await rejectsWith(a.api.mitigations.revert(m.id), 'mitigation_not_reversible');
    await a.api.mitigations.policies.delete(policy.id);
  });

  it('a person blocks by hand (dry run first, any spelling of the address) and releases it', async () => {
    const d = await device('bystander');
    // A dry run with the IPv4-mapped IPv6 spelling: recorded canonical, nothing blocked.
    const dry = await a.api.mitigations.blockSource({
      action: 'block_source',
      params: { source: '::FFFF:7f00:000b', durationSeconds: 120 },
      dryRun: true,
    });
    assert.equal(dry.state, 'dry_run');
    assert.equal(dry.params['source'], '127.0.0.11');
    assert.match(dry.summary[0]!, /from 127\.0\.0\.11 .* for 120 s/);
    const free = await admitted(certFrom(d, '127.0.0.11'));
    free.end(true);

    const block = await a.api.mitigations.blockSource({
      action: 'block_source',
      params: { source: '::ffff:127.0.0.11' },
      reason: 'a scanner',
    });
    assert.equal(block.state, 'applied');
    assert.equal(block.params['durationSeconds'], 3600);
    assert.match(await refused(certFrom(d, '127.0.0.11')), /closed before CONNACK|Banned/i);
    assert.equal((await ingestFrom(d, '127.0.0.11')).status, 403);

    const released = await a.api.mitigations.revert(block.id);
    assert.equal(released.state, 'reverted');
    (await admittedFrom(d, '127.0.0.11')).end(true);
    await rejectsWith(a.api.mitigations.revert(block.id), 'mitigation_not_reversible');
    const audited = await a.api.audit.list({ action: 'mitigation.reverted', target: '127.0.0.11' });
    assert.equal(audited.items.length, 1);
  });

  it("the hub's loopback is never blocked; no source, a bad one or another alert's is refused", async () => {
    const before = (await a.api.mitigations.list({})).items.length;
    for (const source of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', '0.0.0.0']) {
      const e = await rejectsWith(
        a.api.mitigations.blockSource({ action: 'block_source', params: { source } }),
        'mitigation_source_exempt',
      );
      assert.equal(e.status, 400);
    }
    await rejectsWith(
      a.api.mitigations.blockSource({ action: 'block_source' }),
      'mitigation_no_source',
    );
    for (const source of ['hub.example.com', '10.0.0.0/8', '0177.0.0.1', '1.2.3'])
      await rejectsWith(
        a.api.mitigations.blockSource({ action: 'block_source', params: { source } }),
        'mitigation_invalid',
      );
    // An alert that names no source.
    const { alert } = await t.hub.services.alerts.raise({
      orgId: a.orgId,
      deviceId: null,
      kind: 'device_offline',
    });
    const e = await rejectsWith(
      a.api.mitigations.blockSource({ action: 'block_source', alertId: alert.id }),
      'mitigation_no_source',
    );
    assert.match(e.message, /names no source address/);
    // The device route does not take block_source; the source route takes nothing else.
    const d = await a.api.devices.create({ name: 'x', type: 'sensor' });
    await rejectsWith(
      a.api.mitigations.apply(d.id, { action: 'block_source', params: { source: '192.0.2.1' } }),
      'mitigation_invalid',
    );
    await rejectsWith(
      a.api.mitigations.blockSource({ action: 'quarantine' }),
      'mitigation_invalid',
    );
    // Unknown parameters are refused by the schema or the service.
    const r = await raw(
      t,
      'POST',
      '/mitigations',
      { action: 'block_source', params: { source: '192.0.2.1', forever: true } },
      a.apiKey,
    );
    assert.equal(r.status, 400);
    assert.equal((await a.api.mitigations.list({})).items.length, before, 'nothing recorded');
  });
});

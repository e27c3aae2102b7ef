/**
 * Typed domain events (issue 11 item 6): what monitoring, webhooks and the console subscribe to.
 * Each fact at the edge is one event with the fields a listener needs, emitted by the part that
 * knows it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent, DomainEventOf, DomainEventType } from '@bulwark/core';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { connectTls, publish } from './mqtt-helpers.js';

describe('typed domain events at the edge', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const seen: DomainEvent[] = [];
  const of = <T extends DomainEventType>(type: T) =>
    seen.filter((e): e is DomainEventOf<T> => e.type === type);
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 150));
    await t.hub.services.events.flush();
  };

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    t.hub.services.events.listen((e) => seen.push(e));
  });
  after(() => t.close());

  it('a refused credential is auth.failed with transport, source and reason', async () => {
    const d = await s.api.devices.create({ name: 'ev-wrong-key', type: 'sensor' });
    await assert.rejects(connectTls(t, { username: d.id, password: 'bwd_wrong', clientId: d.id }));
    const res = await t.fetchWith()(
      `${t.url}/api/v1/channels/00000000-0000-7000-8000-000000000000/messages`,
      {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${d.id}:nope`).toString('base64')}` },
        body: 'x',
      },
    );
    assert.equal(res.status, 401);
    await settle();
    const failed = of('auth.failed').filter((e) => e.subject === `device:${d.id}`);
    assert.deepEqual(
      failed.map((e) => [e.transport, e.source, e.reason, e.credential]),
      [
        ['mqtt', '127.0.0.1', 'unknown', 'device_key'],
        ['http', '127.0.0.1', 'unknown', 'device_key'],
      ],
    );
  });

  it('enrollment, renewal, revocation, connection, denial and quarantine are events', async () => {
    const d = await s.api.devices.create({ name: 'ev-device', type: 'sensor' });
    const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const first = await t.client().enroll({ token, csr: k.csrPem });
    const k2 = await generateDeviceKeyAndCsr();
    const renewed = await t
      .client(undefined, { cert: first.certificate, key: k.keyPem })
      .call('renewCertificate', { body: { csr: k2.csrPem } });
    const c = await connectTls(t, { cert: renewed.certificate, key: k2.keyPem, clientId: d.id });
    assert.equal(
      await publish(c, 'channels/00000000-0000-7000-8000-000000000000/messages', 'x'),
      0x87,
    );
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await s.api.devices.update(d.id, { state: 'quarantined' });
    await closed;
    await s.api.devices.revokeCertificate(d.id, first.serial);
    await settle();
    const mine = seen.filter((e) => 'deviceId' in e && e.deviceId === d.id);
    const types = mine.map((e) => e.type);
    for (const type of [
      'certificate.issued',
      'certificate.renewed',
      'device.connected',
      'device.state_changed',
      'device.disconnected',
      'certificate.revoked',
    ] as const) {
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    }
    const renewal = of('certificate.renewed').find((e) => e.deviceId === d.id)!;
    assert.equal(renewal.serial, renewed.serial);
    const changes = of('device.state_changed').filter((e) => e.deviceId === d.id);
    assert.deepEqual(
      changes.map((e) => `${e.from}→${e.to}`),
      ['provisioned→active', 'active→quarantined'],
    );
    const connected = of('device.connected').find((e) => e.deviceId === d.id)!;
    assert.equal(connected.certSerial, renewed.serial);
    const denied = of('authz.denied').find((e) => e.principal.id === d.id)!;
    assert.equal(denied.action, 'publish');
    assert.equal(denied.transport, 'mqtt');
  });

  it('alerts open and resolve as events (a controlled device lost, then back)', async () => {
    const d = await s.api.devices.create({ name: 'ev-offline', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    const c = await connectTls(t, { username: d.id, password: key, clientId: d.id });
    await settle();
    c.end(true); // the link is lost: no DISCONNECT
    const opened = () => seen.some((e) => e.type === 'alert.opened' && e.deviceId === d.id);
    for (let i = 0; i < 50 && !opened(); i++) await new Promise((r) => setTimeout(r, 100));
    const back = await connectTls(t, { username: d.id, password: key, clientId: d.id });
    await settle();
    await new Promise<void>((r) => back.end(false, {}, () => r())); // a clean goodbye
    await settle();
    const alerts = seen.filter(
      (e) => (e.type === 'alert.opened' || e.type === 'alert.resolved') && e.deviceId === d.id,
    );
    assert.deepEqual(
      alerts.map((e) => `${e.type}:${'kind' in e ? e.kind : ''}`),
      ['alert.opened:device_offline', 'alert.resolved:device_offline'],
    );
  });
});

/**
 * The hub relay's rule for legs a gateway carries (decision 0042, "Through a gateway"), on
 * loopback against a real hub: a gateway joins session S for device X with its own certificate
 * only if X is one of its site devices (the uplink's rule), active, the serial it names is a live
 * certificate of X, S is X's session and the secret is right. Another gateway, a gateway of another
 * organization, a gateway naming a device outside its site, a device that is no gateway naming
 * another device: `relay_refused`, audited under the dialer; nothing joins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { dialRelay } from '@bulwark/agent';
import type { BulwarkClient } from '@bulwark/sdk';
import { RELAY_DEVICE_HEADER, RELAY_DEVICE_SERIAL_HEADER } from '@bulwark/transport';
import {
  enrollDevice,
  PASSWORD,
  setupOrg,
  startGateway,
  startTestHub,
  type SiteDevice,
  type TestHub,
} from './helpers.js';

describe('hub relay: legs carried by a gateway', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let foreign: BulwarkClient;
  let gw: SiteDevice;
  let gwOther: SiteDevice;
  let gwForeign: SiteDevice;
  let x: SiteDevice;
  let x2: SiteDevice;
  let outside: SiteDevice;
  const open: Socket[] = [];

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    foreign = t.client(
      (
        await t
          .client()
          .auth.login({ email: 'owner@example.com', password: PASSWORD, organizationId: org2.id })
      ).accessToken,
    );
    [gw, gwOther, x, x2, outside, gwForeign] = await Promise.all([
      enrollDevice(t, s.api, 'gw', { type: 'gateway', locationId: s.siteId }),
      enrollDevice(t, s.api, 'gw-elsewhere', { type: 'gateway' }),
      enrollDevice(t, s.api, 'x', { locationId: s.siteId }),
      enrollDevice(t, s.api, 'x2', { locationId: s.siteId }),
      enrollDevice(t, s.api, 'outside'),
      enrollDevice(t, foreign, 'gw-foreign', { type: 'gateway' }),
    ]);
  });
  after(async () => {
    for (const sock of open) sock.destroy();
    await t?.close();
  });

  /** A pending relay session for `device`, bound to a real ticket. */
  const session = async (device: SiteDevice) => {
    const ticket = await s.api.tickets.issue(device.deviceId, { perm: 'operate', ttlSeconds: 300 });
    return t.hub.services.tunnels.relay.create({
      orgId: s.orgId,
      deviceId: device.deviceId,
      jti: ticket.jti,
      principalId: 'test',
      principalType: 'api_key',
      target: 'tcp:22',
      maxSeconds: 60,
      maxBytes: 1_000_000,
    });
  };
  /** Dials session `id` as `dialer`, carrying a leg for `claim` when given. */
  const leg = (
    dialer: SiteDevice,
    id: string,
    secret: string,
    claim?: Pick<SiteDevice, 'deviceId' | 'serial'>,
  ) =>
    dialRelay({
      origin: t.url,
      path: `/api/v1/relay/${id}`,
      secret,
      ca: t.ca,
      cert: dialer.certPem + (dialer.chain[0] ?? ''),
      key: dialer.keyPem,
      headers: claim
        ? { [RELAY_DEVICE_HEADER]: claim.deviceId, [RELAY_DEVICE_SERIAL_HEADER]: claim.serial }
        : {},
      timeoutMs: 5_000,
    });
  const refusals = async (api: BulwarkClient) =>
    (await api.call('listAudit', { query: { action: 'tunnel.refused', limit: 100 } })).items;

  it('refuses every gateway leg that does not speak for the session’s device, and audits it', async () => {
    const S = await session(x);
    const attempts: [string, SiteDevice, Pick<SiteDevice, 'deviceId' | 'serial'>][] = [
      ['a gateway of another site', gwOther, x],
      ['a gateway of another organization', gwForeign, x],
      ['a device that is no gateway', x2, x],
      ['a device outside the gateway’s site', gw, outside],
      ['another site device’s session', gw, x2],
      ['a serial of another device', gw, { deviceId: x.deviceId, serial: x2.serial }],
    ];
    for (const [why, dialer, claim] of attempts)
      await assert.rejects(leg(dialer, S.id, S.deviceSecret, claim), /relay_refused/, why);
    // None of them cost the session a secret failure or joined it: the right leg still joins.
    const ok = await leg(gw, S.id, S.deviceSecret, x);
    open.push(ok);
    const mine = (await refusals(s.owner)).filter((e) => e.detail?.['session'] === S.id);
    assert.equal(mine.length, 5, JSON.stringify(mine.map((e) => e.detail)));
    assert.deepEqual(
      new Set(mine.map((e) => e.actorId)),
      new Set([gwOther.deviceId, x2.deviceId, gw.deviceId]),
    );
    // The foreign gateway's refusal is in its own organization's log, not in the victim's.
    const theirs = (await refusals(foreign)).filter((e) => e.detail?.['session'] === S.id);
    assert.equal(theirs.length, 1);
    assert.equal(theirs[0]!.actorId, gwForeign.deviceId);
  });

  it('the site’s gateway with a wrong secret is refused; three wrong secrets drop the session', async () => {
    const S = await session(x);
    for (let i = 0; i < 3; i++)
      await assert.rejects(leg(gw, S.id, 'wrong', x), /relay_refused: wrong relay secret/);
    await assert.rejects(leg(gw, S.id, S.deviceSecret, x), /no such pending relay session/);
  });

  it('the gateway’s LAN server admits a leg only from a site device the session was offered to', async () => {
    const g = await startGateway(t, s.api, s.siteId, {
      cache: { enabled: true, host: '127.0.0.1', port: 0 },
    });
    try {
      const S = await session(x);
      const lanLeg = (dialer: SiteDevice) =>
        dialRelay({
          origin: `https://127.0.0.1:${g.gateway.status().cache!.port!}`,
          path: `/api/v1/relay/${S.id}`,
          secret: S.deviceSecret,
          ca: g.brokerCa,
          cert: dialer.certPem + (dialer.chain[0] ?? ''),
          key: dialer.keyPem,
          timeoutMs: 5_000,
        });
      // A site device, but the hub offered this session to nobody through this gateway.
      await assert.rejects(lanLeg(x), /relay_refused: no tunnel was offered to this device/);
      // A device of the organization outside the site.
      await assert.rejects(lanLeg(outside), /relay_refused: not a device of this site/);
      assert.deepEqual(g.gateway.status().relay.refused, { not_offered: 1, not_admitted: 1 });
      assert.equal(g.gateway.status().relay.forwarded, 0);
    } finally {
      await g.stop();
    }
  });

  it('a quarantined site device’s leg is refused through its gateway too', async () => {
    const S = await session(x2);
    await s.api.devices.update(x2.deviceId, { state: 'quarantined' });
    await assert.rejects(leg(gw, S.id, S.deviceSecret, x2), /device_quarantined/);
  });
});

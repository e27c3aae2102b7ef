/**
 * Claim-based provisioning over the API (decision 0027), and the ways around it an attacker would
 * try: another organization's claim, a revoked, expired or used-up claim, a hardware id outside the
 * allowlist, a hardware id replayed with another key, a device type other than the template's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('provisioning claims over the API', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let api: BulwarkClient;
  let anon: BulwarkClient;
  let channelId: string;
  let siteId: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    api = s.api;
    anon = t.client();
    channelId = (await api.channels.create({ name: 'telemetry' })).id;
    siteId = (await api.locations.create({ name: 'Plant', kind: 'site' })).id;
  });
  after(() => t.close());

  const newClaim = (
    over: Partial<Parameters<BulwarkClient['provisioning']['createClaim']>[0]> = {},
  ) =>
    api.provisioning.createClaim({
      name: 'batch 12',
      template: {
        type: 'esp32',
        tags: ['batch:12'],
        locationId: siteId,
        channels: [{ channelId, publish: true, subscribe: false }],
      },
      maxDevices: 10,
      ttlSeconds: 3600,
      ...over,
    });
  const csr = async () => (await generateDeviceKeyAndCsr()).csrPem;

  it('a device claims its identity: a device under the template, its certificate, an audit row', async () => {
    const { claim, token } = await newClaim({ hardwarePattern: 'SN-2026-*' });
    assert.equal(claim.usedCount, 0);
    assert.match(token, /^bwc_/);
    const issued = await anon.provisioning.claim({
      token,
      hardwareId: 'SN-2026-0001',
      csr: await csr(),
    });
    const device = await api.devices.get(issued.deviceId);
    assert.equal(device.name, 'esp32-SN-2026-0001');
    assert.equal(device.type, 'esp32');
    assert.equal(device.state, 'active');
    assert.equal(device.locationId, siteId);
    assert.deepEqual(device.tags, ['batch:12']);
    const x = new X509Certificate(issued.certificate);
    assert.match(x.subject, new RegExp(`CN=${device.id}`));
    assert.ok(x.verify(new X509Certificate(issued.chain[0]!).publicKey));
    const conns = await api.channels.connections(channelId);
    assert.ok(conns.some((c) => c.clientId === device.id && c.publish && !c.subscribe));
    assert.equal((await api.provisioning.getClaim(claim.id)).usedCount, 1);
    const [row] = (await api.audit.list({ action: 'claimDevice', limit: 1 })).items;
    assert.equal(row?.actorType, 'claim');
    assert.equal(row?.actorId, claim.id);
    assert.equal(row?.targetId, device.id);
    assert.equal(row?.result, 'success');
    assert.doesNotMatch(JSON.stringify(row), /bwc_/);
    // The list never shows the token.
    assert.doesNotMatch(JSON.stringify(await api.provisioning.listClaims()), /bwc_|tokenHash/);
  });

  it('the same hardware id with the same key gets its device back; with another key it is refused', async () => {
    const { claim, token } = await newClaim();
    const key = await generateDeviceKeyAndCsr();
    const first = await anon.provisioning.claim({ token, hardwareId: 'HW-A', csr: key.csrPem });
    const again = await anon.provisioning.claim({ token, hardwareId: 'HW-A', csr: key.csrPem });
    assert.equal(again.deviceId, first.deviceId);
    assert.equal(again.serial, first.serial);
    assert.equal((await api.provisioning.getClaim(claim.id)).usedCount, 1);
    const e = await rejectsWith(
      anon.provisioning.claim({ token, hardwareId: 'HW-A', csr: await csr() }),
      'hardware_id_claimed',
    );
    assert.equal(e.status, 409);
    // Nor through another claim of the organization.
    const other = await newClaim();
    await rejectsWith(
      anon.provisioning.claim({ token: other.token, hardwareId: 'HW-A', csr: await csr() }),
      'hardware_id_claimed',
    );
    // Nor by reusing a key certified for another device.
    await rejectsWith(
      anon.provisioning.claim({ token, hardwareId: 'HW-B', csr: key.csrPem }),
      'key_reused',
    );
  });

  it('refuses a hardware id outside the allowlist or pattern', async () => {
    const { token } = await newClaim({ hardwareIds: ['AA-1', 'AA-2'], hardwarePattern: 'ZZ-??' });
    await anon.provisioning.claim({ token, hardwareId: 'AA-2', csr: await csr() });
    await anon.provisioning.claim({ token, hardwareId: 'ZZ-42', csr: await csr() });
    for (const hw of ['AA-3', 'ZZ-420', 'zz-42', 'AA-1x'])
      await rejectsWith(
        anon.provisioning.claim({ token, hardwareId: hw, csr: await csr() }),
        'hardware_id_not_allowed',
      );
    const bad = await raw(t, 'POST', '/provisioning/claim', {
      token,
      hardwareId: '../etc/passwd',
      csr: await csr(),
    });
    assert.equal(bad.status, 400);
  });

  it('refuses a device of another type than the template', async () => {
    const { claim, token } = await newClaim();
    const e = await rejectsWith(
      anon.provisioning.claim({ token, hardwareId: 'T-1', csr: await csr(), type: 'gateway' }),
      'claim_type_mismatch',
    );
    assert.equal(e.status, 403);
    // Nor can the device choose anything else the template decides.
    for (const extra of [{ name: 'admin-box' }, { tags: ['root'] }, { locationId: siteId }]) {
      const r = await raw(t, 'POST', '/provisioning/claim', {
        token,
        hardwareId: 'T-2',
        csr: await csr(),
        ...extra,
      });
      assert.equal(r.status, 400);
      assert.equal(r.json['code'], 'unknown_field');
    }
    assert.equal((await api.provisioning.getClaim(claim.id)).usedCount, 0);
    const ok = await anon.provisioning.claim({
      token,
      hardwareId: 'T-1',
      csr: await csr(),
      type: 'esp32',
    });
    assert.equal((await api.devices.get(ok.deviceId)).type, 'esp32');
  });

  it('refuses a revoked, expired or used-up claim', async () => {
    const used = await newClaim({ maxDevices: 2 });
    await anon.provisioning.claim({ token: used.token, hardwareId: 'U-1', csr: await csr() });
    await anon.provisioning.claim({ token: used.token, hardwareId: 'U-2', csr: await csr() });
    await rejectsWith(
      anon.provisioning.claim({ token: used.token, hardwareId: 'U-3', csr: await csr() }),
      'claim_exhausted',
    );
    const revoked = await newClaim();
    const r = await api.provisioning.revokeClaim(revoked.claim.id);
    assert.ok(r.revokedAt);
    await rejectsWith(api.provisioning.revokeClaim(revoked.claim.id), 'conflict');
    await rejectsWith(
      anon.provisioning.claim({ token: revoked.token, hardwareId: 'R-1', csr: await csr() }),
      'claim_revoked',
    );
    const short = await newClaim({ ttlSeconds: 60 });
    t.clock.advance(61_000);
    await rejectsWith(
      anon.provisioning.claim({ token: short.token, hardwareId: 'E-1', csr: await csr() }),
      'claim_expired',
    );
    await rejectsWith(
      anon.provisioning.claim({ token: 'bwc_guessed', hardwareId: 'G-1', csr: await csr() }),
      'claim_invalid',
    );
  });

  it("keeps organizations apart: another organization's claim is not found and provisions only there", async () => {
    const org2 = await s.owner.orgs.create({ name: 'Elsewhere' });
    const tokens = await anon.auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const other = t.client(tokens.accessToken);
    const theirs = await other.provisioning.createClaim({
      name: 'theirs',
      template: { type: 'esp32' },
      maxDevices: 5,
      ttlSeconds: 3600,
    });
    await rejectsWith(api.provisioning.getClaim(theirs.claim.id), 'not_found');
    await rejectsWith(api.provisioning.revokeClaim(theirs.claim.id), 'not_found');
    assert.ok(!(await api.provisioning.listClaims()).some((c) => c.id === theirs.claim.id));
    // A template naming our channel or location cannot be made in their organization.
    await rejectsWith(
      other.provisioning.createClaim({
        name: 'steal',
        template: { type: 'esp32', channels: [{ channelId, publish: true, subscribe: true }] },
        maxDevices: 1,
        ttlSeconds: 3600,
      }),
      'not_found',
    );
    await rejectsWith(
      other.provisioning.createClaim({
        name: 'steal',
        template: { type: 'esp32', locationId: siteId },
        maxDevices: 1,
        ttlSeconds: 3600,
      }),
      'not_found',
    );
    // Their token provisions into their organization, whatever hardware id ours used.
    const issued = await anon.provisioning.claim({
      token: theirs.token,
      hardwareId: 'SN-2026-0001',
      csr: await csr(),
    });
    assert.equal(issued.organizationId, org2.id);
    await rejectsWith(api.devices.get(issued.deviceId), 'not_found');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

const decode = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('access tickets for local management ports', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let deviceId: string;
  let viewer: BulwarkClient;
  let operator: BulwarkClient;

  async function activeDevice(name: string, api = s.api): Promise<string> {
    const device = await api.devices.create({ name, type: 'rpi4' });
    const { token } = await api.devices.createEnrollmentToken(device.id, {});
    await t.client().enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem });
    return device.id;
  }
  async function member(role: 'viewer' | 'operator'): Promise<BulwarkClient> {
    const email = `${role}@example.com`;
    await s.owner.users.create({ email, name: role, password: PASSWORD, role });
    const tokens = await t.client().auth.login({ email, password: PASSWORD });
    return t.client(tokens.accessToken);
  }

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    deviceId = await activeDevice('tk-1');
    viewer = await member('viewer');
    operator = await member('operator');
  });
  after(() => t.close());

  it('issues an ES256 JWS signed by the organization issuing CA, with the contract claims', async () => {
    const r = await s.owner.tickets.issue(deviceId, { perm: 'operate' });
    assert.equal(r.deviceId, deviceId);
    assert.equal(r.perm, 'operate');
    assert.equal(r.backup, false);
    const [h, p, sig] = r.ticket.split('.') as [string, string, string];
    const header = decode(h);
    assert.equal(header['alg'], 'ES256');
    const claims = decode(p);
    assert.equal(claims['typ'], 'bulwark-ticket');
    assert.equal(claims['jti'], r.jti);
    assert.equal(claims['sub'], deviceId);
    assert.equal(claims['org'], s.orgId);
    assert.equal(claims['perm'], 'operate');
    assert.equal(claims['by'], s.userId);
    assert.equal(claims['backup'], undefined);
    assert.equal(Number(claims['exp']) - Number(claims['iat']), 300, 'five minutes by default');
    assert.equal(new Date(r.expiresAt).getTime(), Number(claims['exp']) * 1000);
    const bundle = await s.api.pki.caBundle();
    const issuing = new X509Certificate(bundle.issuing);
    const input = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(sig, 'base64url');
    assert.equal(signature.length, 64, 'JOSE raw r||s');
    assert.ok(
      verify('sha256', input, { key: issuing.publicKey, dsaEncoding: 'ieee-p1363' }, signature),
    );
    assert.ok(
      !verify(
        'sha256',
        input,
        { key: new X509Certificate(bundle.root).publicKey, dsaEncoding: 'ieee-p1363' },
        signature,
      ),
      'the issuing CA signs tickets, not the root',
    );
  });

  it('bounds lifetimes: 1-15 minutes for normal tickets, up to 90 days for backup tickets', async () => {
    await rejectsWith(
      s.api.tickets.issue(deviceId, { perm: 'read', ttlSeconds: 901 }),
      'validation_failed',
    );
    await rejectsWith(
      s.api.tickets.issue(deviceId, { perm: 'read', ttlSeconds: 59 }),
      'validation_failed',
    );
    await rejectsWith(
      s.api.tickets.issue(deviceId, { perm: 'read', backup: true, ttlSeconds: 90 * 86_400 + 1 }),
      'validation_failed',
    );
    const short = await s.api.tickets.issue(deviceId, { perm: 'read', ttlSeconds: 900 });
    assert.equal(Date.parse(short.expiresAt) - Date.parse(short.issuedAt), 900_000);
    const backup = await s.api.tickets.issue(deviceId, { perm: 'read', backup: true });
    assert.equal(backup.backup, true);
    assert.equal(Date.parse(backup.expiresAt) - Date.parse(backup.issuedAt), 30 * 86_400_000);
    assert.equal(decode(backup.ticket.split('.')[1] ?? '')['backup'], true);
    const long = await s.api.tickets.issue(deviceId, {
      perm: 'read',
      backup: true,
      ttlSeconds: 90 * 86_400,
    });
    assert.equal(Date.parse(long.expiresAt) - Date.parse(long.issuedAt), 90 * 86_400_000);
    const bad = await raw(t, 'POST', `/devices/${deviceId}/tickets`, { perm: 'root' }, s.apiKey);
    assert.equal(bad.status, 400);
  });

  it('levels need permissions: read → devices:read, operate → devices:manage, admin → also org:manage', async () => {
    assert.equal((await viewer.tickets.issue(deviceId, { perm: 'read' })).perm, 'read');
    await rejectsWith(viewer.tickets.issue(deviceId, { perm: 'operate' }), 'forbidden');
    assert.equal((await operator.tickets.issue(deviceId, { perm: 'operate' })).perm, 'operate');
    await rejectsWith(operator.tickets.issue(deviceId, { perm: 'admin' }), 'forbidden');
    assert.equal((await s.owner.tickets.issue(deviceId, { perm: 'admin' })).perm, 'admin');
    // An API key acts with its own scopes; the ticket names the key.
    const { key } = await s.owner.apiKeys.create({ name: 'reader', permissions: ['devices:read'] });
    const reader = t.client(key);
    const byKey = await reader.tickets.issue(deviceId, { perm: 'read' });
    await rejectsWith(reader.tickets.issue(deviceId, { perm: 'operate' }), 'forbidden');
    const listed = (await s.api.tickets.list(deviceId)).find((x) => x.jti === byKey.jti);
    assert.equal(listed?.issuedByType, 'api_key');
    // A viewer may not revoke an operate ticket (revoking needs what issuing needed).
    const op = await s.owner.tickets.issue(deviceId, { perm: 'operate', backup: true });
    await rejectsWith(viewer.tickets.revoke(deviceId, op.jti), 'forbidden');
  });

  it('only for an active device of the caller organization', async () => {
    const fresh = await s.api.devices.create({ name: 'tk-unenrolled', type: 'rpi4' });
    await rejectsWith(s.owner.tickets.issue(fresh.id, { perm: 'read' }), 'conflict');
    const q = await activeDevice('tk-quarantined');
    await s.api.devices.update(q, { state: 'quarantined' });
    await rejectsWith(s.owner.tickets.issue(q, { perm: 'read' }), 'conflict');
    const gone = await activeDevice('tk-gone');
    await s.api.devices.decommission(gone);
    await rejectsWith(s.owner.tickets.issue(gone, { perm: 'read' }), 'device_decommissioned');
    await rejectsWith(
      s.owner.tickets.issue('0190a000-0000-7000-8000-000000000000', { perm: 'read' }),
      'not_found',
    );
    // Tenancy: the same owner, logged into a second organization, sees none of the first's.
    const org2 = await s.owner.orgs.create({ name: 'Second' });
    const tokens = await t.client().auth.login({
      email: 'owner@example.com',
      password: PASSWORD,
      organizationId: org2.id,
    });
    const second = t.client(tokens.accessToken);
    await rejectsWith(second.tickets.issue(deviceId, { perm: 'read' }), 'not_found');
    await rejectsWith(second.tickets.list(deviceId), 'not_found');
    const mine = await s.owner.tickets.issue(deviceId, { perm: 'read', backup: true });
    await rejectsWith(second.tickets.revoke(deviceId, mine.jti), 'not_found');
    // A ticket of one device cannot be revoked through another.
    const otherDevice = await activeDevice('tk-other');
    await rejectsWith(s.owner.tickets.revoke(otherDevice, mine.jti), 'not_found');
  });

  it('lists unexpired tickets (all with all=true), revokes once, and audits issue and revoke', async () => {
    const d = await activeDevice('tk-list');
    const normal = await s.owner.tickets.issue(d, { perm: 'read', ttlSeconds: 60 });
    const backup = await s.owner.tickets.issue(d, {
      perm: 'operate',
      backup: true,
      ttlSeconds: 86_400,
    });
    let list = await s.api.tickets.list(d);
    assert.deepEqual(
      list.map((x) => x.jti),
      [backup.jti, normal.jti],
    );
    assert.equal(list[0]?.issuedBy, s.userId);
    assert.equal('ticket' in (list[0] ?? {}), false, 'the signed ticket is never listed');

    const revoked = await s.owner.tickets.revoke(d, backup.jti);
    assert.ok(revoked.revokedAt);
    // The revocation travels to the device in its desired twin.
    const twin = await s.api.twins.get(d);
    assert.deepEqual(twin.desired.state['tickets'], { revoked: [backup.jti] });
    await rejectsWith(s.owner.tickets.revoke(d, backup.jti), 'conflict');

    t.clock.advance(2 * 60_000);
    list = await s.api.tickets.list(d);
    assert.deepEqual(
      list.map((x) => x.jti),
      [backup.jti],
    );
    assert.ok(list[0]?.revokedAt);
    assert.equal((await s.api.tickets.list(d, { all: true })).length, 2);
    await rejectsWith(s.owner.tickets.revoke(d, normal.jti), 'conflict');

    const issued = (await s.api.audit.list({ action: 'issueTicket', target: d })).items;
    assert.equal(issued.length, 2);
    const last = issued[0];
    assert.equal(last?.actorId, s.userId);
    assert.equal(last?.result, 'success');
    assert.equal(last?.detail?.['jti'], backup.jti);
    assert.equal(last?.detail?.['perm'], 'operate');
    assert.equal(last?.detail?.['backup'], true);
    const revokes = (await s.api.audit.list({ action: 'revokeTicket', target: d })).items;
    assert.deepEqual(
      revokes.map((e) => [e.result, e.detail?.['jti']]),
      [
        ['failure', normal.jti],
        ['failure', backup.jti],
        ['success', backup.jti],
      ],
    );
    // A refused issue is audited too.
    await rejectsWith(viewer.tickets.issue(d, { perm: 'admin' }), 'forbidden');
    const [refused] = (await s.api.audit.list({ action: 'issueTicket', target: d })).items;
    assert.equal(refused?.result, 'failure');
    assert.equal(refused?.detail?.['error'], 'forbidden');
  });

  it("records a device's local_session events in the audit log (the device plane hands them over)", async () => {
    const svc = t.hub.services.tickets;
    const at = new Date().toISOString();
    await svc.recordLocalSession(s.orgId, deviceId, {
      kind: 'local_session',
      severity: 'info',
      at,
      detail: {
        action: 'opened',
        session: 's-1',
        remote: '192.0.2.7:50000',
        jti: 'j',
        by: s.userId,
        perm: 'operate',
      },
    });
    await svc.recordLocalSession(s.orgId, deviceId, {
      kind: 'local_session',
      severity: 'warning',
      at,
      detail: { action: 'refused', code: 'ticket_reused', remote: '192.0.2.7:50001' },
    });
    await svc.recordLocalSession(s.orgId, deviceId, {
      kind: 'alarm',
      severity: 'info',
      at,
      detail: {},
    });
    const [refused, opened] = (await s.api.audit.list({ target: deviceId })).items;
    assert.equal(opened?.action, 'local_session.opened');
    assert.equal(opened?.actorType, 'device');
    assert.equal(opened?.result, 'success');
    assert.equal(opened?.detail?.['by'], s.userId);
    assert.equal(refused?.action, 'local_session.refused');
    assert.equal(refused?.result, 'failure');
    assert.equal(refused?.source, '192.0.2.7:50001');
  });
});

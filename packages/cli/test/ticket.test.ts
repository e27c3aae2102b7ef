/**
 * `bulwark ticket issue|list|revoke` against a real hub process: durations, the backup flags, the
 * hub's refusals (lifetime bounds) as clear errors, and usage errors before any request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, resolveConnection } from '@bulwark/cli';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { startHub, type ManagedHub } from './management-hub.js';

interface Issued {
  ticket: string;
  jti: string;
  perm: string;
  backup: boolean;
  issuedAt: string;
  expiresAt: string;
}

describe('bulwark ticket', () => {
  let hub: ManagedHub;
  let api: BulwarkClient;
  let deviceId: string;

  before(async () => {
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
    const device = await api.devices.create({ name: 'cli-ticket-1', type: 'rpi4' });
    const { token } = await api.devices.createEnrollmentToken(device.id, {});
    await api.enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem });
    deviceId = device.id;
  });
  after(() => hub.close());

  const lifetime = (t: Issued) => (Date.parse(t.expiresAt) - Date.parse(t.issuedAt)) / 1000;

  test('issue: --perm with --ttl, and --backup with --valid; the ticket is printed once', async () => {
    const t = await hub.json<Issued>([
      'ticket',
      'issue',
      deviceId,
      '--perm',
      'operate',
      '--ttl',
      '10m',
    ]);
    assert.equal(t.perm, 'operate');
    assert.equal(lifetime(t), 600);
    assert.equal(t.ticket.split('.').length, 3);
    const b = await hub.json<Issued>([
      'ticket',
      'issue',
      deviceId,
      '--perm',
      'read',
      '--backup',
      '--valid',
      '30d',
    ]);
    assert.equal(b.backup, true);
    assert.equal(lifetime(b), 30 * 86_400);
    const plain = await hub.run(['ticket', 'issue', deviceId, '--perm', 'read']);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /ticket +\S+\.\S+\.\S+/);
    assert.match(plain.stdout, /shown only this once/);
  });

  test('list and revoke', async () => {
    const b = await hub.json<Issued>(['ticket', 'issue', deviceId, '--perm', 'read', '--backup']);
    const table = await hub.run(['ticket', 'list', deviceId]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /JTI +PERM +BACKUP/);
    assert.ok(table.stdout.includes(b.jti));
    const revoked = await hub.run(['ticket', 'revoke', deviceId, b.jti]);
    assert.equal(revoked.code, 0);
    assert.match(revoked.stdout, new RegExp(`revoked ticket ${b.jti}`));
    const { items: listed } = await hub.json<{
      items: { jti: string; revokedAt: string | null }[];
    }>(['ticket', 'list', deviceId]);
    assert.ok(listed.find((x) => x.jti === b.jti)?.revokedAt);
    const again = await hub.run(['ticket', 'revoke', deviceId, b.jti]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already revoked/);
  });

  test('refusals: bad durations and flag mixes are usage errors; the hub bounds lifetimes', async () => {
    const cases: [string[], RegExp][] = [
      [['--perm', 'operate', '--ttl', '5x'], /--ttl must be a duration like/],
      [['--perm', 'operate', '--ttl', '0m'], /--ttl must be a duration/],
      [['--perm', 'root'], /--perm must be one of read, operate, admin/],
      [[], /--perm is required/],
      [['--perm', 'read', '--valid', '3d'], /--valid is for --backup tickets/],
      [['--perm', 'read', '--backup', '--ttl', '5m'], /takes --valid, not --ttl/],
      [['--perm', 'operate', '--ttl', '20m'], /ttlSeconds must be a whole number from 60 to 900/],
    ];
    for (const [flags, re] of cases) {
      const r = await hub.run(['ticket', 'issue', deviceId, ...flags]);
      assert.notEqual(r.code, 0, flags.join(' '));
      assert.match(r.stderr, re, flags.join(' '));
    }
  });
});

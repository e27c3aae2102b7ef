/**
 * `bulwark device revoke ID SERIAL` and `bulwark device revoke ID --all` against a real hub
 * process: every live certificate revoked at once, usage errors before any request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, resolveConnection } from '@bulwark/cli';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import { startHub, type ManagedHub } from './management-hub.js';

interface Cert {
  serial: string;
  revokedAt: string | null;
  revocationReason: string | null;
}

describe('bulwark device revoke', () => {
  let hub: ManagedHub;
  let api: BulwarkClient;

  before(async () => {
    hub = await startHub();
    api = connect(resolveConnection({}, hub.env, process.cwd()));
  });
  after(() => hub.close());

  /** A device with `n` certificates (one enrollment each). */
  async function deviceWithCerts(
    name: string,
    n: number,
  ): Promise<{ id: string; serials: string[] }> {
    const device = await api.devices.create({ name, type: 'rpi4' });
    const serials: string[] = [];
    for (let i = 0; i < n; i++) {
      const { token } = await api.devices.createEnrollmentToken(device.id, {});
      serials.push(
        (await api.enroll({ token, csr: (await generateDeviceKeyAndCsr()).csrPem })).serial,
      );
    }
    return { id: device.id, serials };
  }

  test('--all revokes every live certificate of the device, with the reason, and lists them', async () => {
    const d = await deviceWithCerts('cli-revoke-all', 2);
    const other = await deviceWithCerts('cli-revoke-other', 1);
    const table = await hub.run(['device', 'revoke', d.id, '--all', '--reason', 'keyCompromise']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /SERIAL +REVOKED +REASON/);
    for (const serial of d.serials) assert.ok(table.stdout.includes(serial));
    const certs = (await hub.json<{ items: Cert[] }>(['device', 'certs', d.id])).items;
    assert.ok(certs.every((c) => c.revocationReason === 'keyCompromise'));
    const untouched = (await hub.json<{ items: Cert[] }>(['device', 'certs', other.id])).items;
    assert.equal(untouched[0]?.revokedAt, null);
    assert.deepEqual(await hub.json(['device', 'revoke', d.id, '--all']), []);
    const none = await hub.run(['device', 'revoke', d.id, '--all']);
    assert.match(none.stdout, /no live certificates to revoke/);
  });

  test('one serial still revokes one certificate', async () => {
    const d = await deviceWithCerts('cli-revoke-one', 2);
    const [a, b] = d.serials;
    const r = await hub.json<Cert>(['device', 'revoke', d.id, a!]);
    assert.equal(r.serial, a);
    const certs = (await hub.json<{ items: Cert[] }>(['device', 'certs', d.id])).items;
    assert.equal(certs.find((c) => c.serial === b)?.revokedAt, null);
  });

  test('usage errors: neither a serial nor --all, or both', async () => {
    const d = await deviceWithCerts('cli-revoke-usage', 1);
    const neither = await hub.run(['device', 'revoke', d.id]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /missing SERIAL \(or --all\)/);
    const both = await hub.run(['device', 'revoke', d.id, d.serials[0]!, '--all']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either a SERIAL or --all/);
    const certs = (await hub.json<{ items: Cert[] }>(['device', 'certs', d.id])).items;
    assert.equal(certs[0]?.revokedAt, null);
  });
});

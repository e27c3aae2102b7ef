import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bulwark-pki-'));
const file = (name: string, content: string) => {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
};
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('device PKI over the API', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(() => t.close());

  async function newDevice(name: string) {
    const device = await s.api.devices.create({ name, type: 'rpi4' });
    const { token } = await s.api.devices.createEnrollmentToken(device.id, {});
    return { device, token };
  }

  it('enrolls a CSR with a one-time token: the certificate names the device and verifies with openssl', async () => {
    const { device, token } = await newDevice('enroll-1');
    const { keyPem, csrPem } = await generateDeviceKeyAndCsr();
    const issued = await t.client().enroll({ token, csr: csrPem });
    assert.equal(issued.deviceId, device.id);
    assert.equal(issued.organizationId, s.orgId);
    const certFile = file('enroll-1.pem', issued.certificate);
    const chainFile = file('enroll-1-chain.pem', issued.chain.join(''));
    assert.match(openssl('verify', '-CAfile', chainFile, certFile), /OK/);
    const text = openssl(
      'x509',
      '-in',
      certFile,
      '-noout',
      '-subject',
      '-ext',
      'subjectAltName,extendedKeyUsage',
    );
    assert.match(text, new RegExp(`CN ?= ?${device.id}`));
    assert.match(text, new RegExp(`URI:urn:bulwark:device:${device.id}`));
    assert.match(text, /TLS Web Client Authentication/);
    // the certificate is for the key that stayed on the device
    const certPub = openssl('x509', '-in', certFile, '-noout', '-pubkey');
    assert.equal(certPub, openssl('pkey', '-in', file('enroll-1.key', keyPem), '-pubout'));
    assert.equal((await s.api.devices.get(device.id)).state, 'active');
    const [enrolled] = (await s.api.audit.list({ action: 'enroll', limit: 1 })).items;
    assert.equal(enrolled?.actorType, 'device');
    assert.equal(enrolled?.actorId, device.id);
    // used once
    const again = await generateDeviceKeyAndCsr();
    await rejectsWith(t.client().enroll({ token, csr: again.csrPem }), 'enrollment_token_used');
  });
  it('refuses wrong, expired and malformed input, leaving the token usable', async () => {
    const { token } = await newDevice('enroll-2');
    await rejectsWith(
      t.client().enroll({ token: 'bwe_wrong', csr: (await generateDeviceKeyAndCsr()).csrPem }),
      'enrollment_token_invalid',
    );
    await rejectsWith(t.client().enroll({ token, csr: 'not a csr' }), 'csr_malformed');
    openssl(
      'req',
      '-new',
      '-newkey',
      'rsa:1024',
      '-nodes',
      '-keyout',
      join(tmp, 'weak.key'),
      '-out',
      join(tmp, 'weak.csr'),
      '-subj',
      '/CN=weak',
    );
    const weak = execFileSync('cat', [join(tmp, 'weak.csr')], { encoding: 'utf8' });
    const e = await rejectsWith(t.client().enroll({ token, csr: weak }), 'key_too_weak');
    assert.match(e.message, /1024/);
    const { csrPem } = await generateDeviceKeyAndCsr();
    await t.client().enroll({ token, csr: csrPem });
    const expiring = await newDevice('enroll-3');
    t.clock.advance(3601_000);
    await rejectsWith(
      t.client().enroll({ token: expiring.token, csr: csrPem }),
      'enrollment_token_expired',
    );
  });
  it('refuses a key already certified for another device', async () => {
    const a = await newDevice('shared-a');
    const b = await newDevice('shared-b');
    const { csrPem } = await generateDeviceKeyAndCsr();
    await t.client().enroll({ token: a.token, csr: csrPem });
    await rejectsWith(t.client().enroll({ token: b.token, csr: csrPem }), 'key_reused');
  });
  it('renews over mutual TLS with the current certificate; revocation is immediate and in the CRL', async () => {
    const { device, token } = await newDevice('renew-1');
    const k1 = await generateDeviceKeyAndCsr();
    const first = await t.client().enroll({ token, csr: k1.csrPem });
    const asDevice = t.client(undefined, { cert: first.certificate, key: k1.keyPem });
    const k2 = await generateDeviceKeyAndCsr();
    const renewed = await asDevice.call('renewCertificate', { body: { csr: k2.csrPem } });
    assert.equal(renewed.deviceId, device.id);
    assert.notEqual(renewed.serial, first.serial);
    // without a client certificate
    await rejectsWith(
      t.client().call('renewCertificate', { body: { csr: k2.csrPem } }),
      'certificate_required',
    );
    // revoke the first certificate: it can no longer renew, and the CRL lists it
    const revoked = await s.api.devices.revokeCertificate(device.id, first.serial, 'keyCompromise');
    assert.equal(revoked.revocationReason, 'keyCompromise');
    await rejectsWith(
      asDevice.call('renewCertificate', {
        body: { csr: (await generateDeviceKeyAndCsr()).csrPem },
      }),
      'certificate_revoked',
    );
    const crl = await t.client().pki.crl(s.orgId);
    const crlText = openssl('crl', '-in', file('org.crl', crl), '-noout', '-text');
    assert.match(
      crlText.toLowerCase().replace(/:/g, ''),
      new RegExp(first.serial.replace(/^0+/, '')),
    );
    const chain = file('renew-chain.pem', first.chain.join(''));
    assert.throws(
      () =>
        openssl(
          'verify',
          '-crl_check',
          '-CRLfile',
          file('org2.crl', crl),
          '-CAfile',
          chain,
          file('first.pem', first.certificate),
        ),
      /revoked/,
    );
    // the renewed certificate came from the revoked one, so it is revoked with it (decision 0016)
    const certs = await s.api.devices.certificates(device.id);
    assert.equal(certs.length, 2);
    assert.ok(certs.every((c) => c.revocationReason === 'keyCompromise'));
  });
  it('a certificate verified on an earlier request is still refused once it expires', async () => {
    const { token } = await newDevice('expiry-1');
    const k = await generateDeviceKeyAndCsr();
    const enrolled = await t.client().enroll({ token, csr: k.csrPem });
    const asDevice = t.client(undefined, { cert: enrolled.certificate, key: k.keyPem });
    const renew = () =>
      asDevice.call('renewCertificate', {
        body: { csr: k.csrPem },
      });
    await renew(); // verified and remembered
    const saved = t.clock.t;
    t.clock.t = Date.parse(enrolled.notAfter) + 1000;
    try {
      await rejectsWith(renew(), 'certificate_expired');
    } finally {
      t.clock.t = saved;
    }
  });

  it('decommissioning revokes every certificate and key', async () => {
    const { device, token } = await newDevice('retire-1');
    const k = await generateDeviceKeyAndCsr();
    const issued = await t.client().enroll({ token, csr: k.csrPem });
    const dk = await s.api.devices.createKey(device.id);
    assert.match(dk.key, /^bwd_/);
    await s.api.devices.decommission(device.id);
    assert.ok((await s.api.devices.certificates(device.id)).every((c) => c.revokedAt !== null));
    assert.ok((await s.api.devices.keys(device.id)).every((x) => x.revokedAt !== null));
    const asDevice = t.client(undefined, { cert: issued.certificate, key: k.keyPem });
    await rejectsWith(
      asDevice.call('renewCertificate', {
        body: { csr: (await generateDeviceKeyAndCsr()).csrPem },
      }),
      'certificate_revoked',
    );
    await rejectsWith(s.api.devices.createEnrollmentToken(device.id, {}), 'device_decommissioned');
  });
  it("decommissioning removes the device's channel connections and revokes its keys: nothing it held survives", async () => {
    const { device } = await newDevice('retire-2');
    const a = await s.api.channels.create({ name: 'retire-2-a' });
    const b = await s.api.channels.create({ name: 'retire-2-b' });
    const other = await s.api.devices.create({ name: 'retire-2-other', type: 'rpi4' });
    for (const ch of [a, b])
      await s.api.channels.connect(ch.id, {
        clientType: 'device',
        clientId: device.id,
        publish: true,
        subscribe: true,
      });
    await s.api.channels.connect(a.id, {
      clientType: 'device',
      clientId: other.id,
      publish: true,
      subscribe: false,
    });
    const dk = await s.api.devices.createKey(device.id);
    const services = t.hub.services;
    const client = { type: 'device' as const, id: device.id, orgId: s.orgId };
    assert.equal(await services.messaging.canPublish(client, a.id), true); // cached as allowed
    await s.api.devices.decommission(device.id);
    assert.deepEqual(
      (await s.api.channels.connections(a.id)).map((c) => c.clientId),
      [other.id],
    );
    assert.deepEqual(await s.api.channels.connections(b.id), []);
    assert.equal(await services.messaging.canPublish(client, a.id), false);
    assert.equal(await services.messaging.canSubscribe(client, b.id), false);
    assert.ok((await s.api.devices.keys(device.id)).every((k) => k.revokedAt !== null));
    await assert.rejects(
      services.admission.admit({
        credential: { kind: 'device_key', deviceId: device.id, secret: dk.key },
        transport: 'http',
        source: 'test',
      }),
      { code: 'device_key_invalid' },
    );
    const basic = `Basic ${Buffer.from(`${device.id}:${dk.key}`).toString('base64')}`;
    const r = await raw(t, 'POST', `/channels/${a.id}/messages`, 'x', undefined, {
      authorization: basic,
      'content-type': 'text/plain',
    });
    assert.equal(r.status, 401, r.text);
  });
  it('serves the CA bundle to operators and the CRL to anyone', async () => {
    const bundle = await s.api.pki.caBundle();
    assert.match(bundle.root, /BEGIN CERTIFICATE/);
    assert.equal(bundle.crlUrl, `/api/v1/orgs/${s.orgId}/crl`);
    const r = await raw(t, 'GET', `/orgs/${s.orgId}/crl`);
    assert.equal(r.status, 200);
    assert.match(r.text, /BEGIN X509 CRL/);
    const missing = await raw(t, 'GET', `/orgs/01890000-0000-7000-8000-000000000000/crl`);
    assert.equal(missing.json['code'], 'not_found');
  });
});

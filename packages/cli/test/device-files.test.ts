import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { CliError, writeDeviceFiles, type DeviceIdentity } from '@bulwark/cli';

const identity: DeviceIdentity = {
  // A fresh key for this run (the writer only stores it; no key is committed).
  keyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string,
  hubUrl: 'https://127.0.0.1:8443',
  issued: {
    deviceId: '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1e',
    organizationId: '0192f5a4-8f3e-7c2a-9b1d-2f4e6a8c0d1f',
    serial: 'ab12',
    certificate: '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----',
    chain: [
      '-----BEGIN CERTIFICATE-----\nISSUING\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----',
    ],
    hubCa: '-----BEGIN CERTIFICATE-----\nHUB\n-----END CERTIFICATE-----\n',
    notAfter: '2026-01-01T00:00:00.000Z',
  },
};

describe('device file writer', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'bulwark-device-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('writes key.pem with mode 0600 and the other files', () => {
    const dir = join(root, 'pump-1');
    const files = writeDeviceFiles(dir, identity);
    assert.deepEqual(
      files,
      ['key.pem', 'cert.pem', 'ca.pem', 'device.json'].map((f) => join(dir, f)),
    );
    assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o077, 0, 'a new directory is private too');
    assert.equal(readFileSync(join(dir, 'key.pem'), 'utf8'), identity.keyPem);
    assert.equal(
      readFileSync(join(dir, 'cert.pem'), 'utf8'),
      '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n',
    );
  });

  test('ca.pem holds the issuing CA, then the root, then the hub CA', () => {
    const ca = readFileSync(join(root, 'pump-1', 'ca.pem'), 'utf8');
    const order = ['ISSUING', 'ROOT', 'HUB'].map((s) => ca.indexOf(s));
    assert.ok(
      order.every((i, n) => i >= 0 && (n === 0 || i > (order[n - 1] ?? 0))),
      ca,
    );
    assert.equal(ca.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    assert.ok(!ca.includes('----------'), 'each PEM block ends on its own line');
  });

  test('device.json names the device, its organization and its hub', () => {
    const info = JSON.parse(readFileSync(join(root, 'pump-1', 'device.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(info.deviceId, identity.issued.deviceId);
    assert.equal(info.organizationId, identity.issued.organizationId);
    assert.equal(info.hubUrl, 'https://127.0.0.1:8443');
  });

  test('refuses to overwrite an existing key.pem and leaves it untouched', () => {
    const dir = join(root, 'existing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'key.pem'), 'OLD');
    assert.throws(
      () => writeDeviceFiles(dir, identity),
      (err: unknown) => err instanceof CliError && /refusing to overwrite/.test(err.message),
    );
    assert.equal(readFileSync(join(dir, 'key.pem'), 'utf8'), 'OLD');
    assert.throws(() => statSync(join(dir, 'cert.pem')), /ENOENT/);
  });
});

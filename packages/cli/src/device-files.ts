import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedCertificateView } from '@bulwark/protocol';
import { CliError } from './errors.js';

/** What an enrolled device keeps: its private key, the issued certificate and the hub it belongs to. */
export interface DeviceIdentity {
  keyPem: string;
  issued: IssuedCertificateView;
  hubUrl: string;
}

const pem = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** Fails if `dir` already holds a device key, so no identity is ever overwritten. */
export function assertNoDeviceKey(dir: string): void {
  const key = join(dir, 'key.pem');
  if (existsSync(key))
    throw new CliError(`${key} already exists; refusing to overwrite a device key`);
}

/**
 * Writes a device identity into `dir`: key.pem (0600), cert.pem, ca.pem (issuing CA, root CA, then
 * the hub's server CA, so `openssl verify -CAfile ca.pem cert.pem` succeeds and the device can trust
 * the hub) and device.json. Returns the paths written.
 */
export function writeDeviceFiles(dir: string, id: DeviceIdentity): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, 'key.pem');
  // 'wx' creates the file with mode 0600 in one step (never world-readable, not even briefly) and
  // fails if it exists, closing the race a separate existence check leaves open.
  try {
    writeFileSync(key, pem(id.keyPem), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') assertNoDeviceKey(dir);
    throw err;
  }
  const cert = join(dir, 'cert.pem');
  writeFileSync(cert, pem(id.issued.certificate), { mode: 0o644 });
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, [...id.issued.chain, id.issued.hubCa].map(pem).join(''), { mode: 0o644 });
  const info = join(dir, 'device.json');
  const device = {
    deviceId: id.issued.deviceId,
    organizationId: id.issued.organizationId,
    hubUrl: id.hubUrl,
    serial: id.issued.serial,
    notAfter: id.issued.notAfter,
  };
  writeFileSync(info, `${JSON.stringify(device, null, 2)}\n`, { mode: 0o644 });
  return [key, cert, ca, info];
}

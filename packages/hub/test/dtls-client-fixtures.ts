/**
 * Shared fixtures of the DTLS certificate and raw public key tests (CoAP and LwM2M over DTLS):
 * libcoap's clients (a DTLS stack we did not write), the response codes they log, a device's
 * enrolled certificate and a fresh P-256 key pair in a private temporary directory.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import type { TestHub } from './helpers.js';

/** A libcoap client: present, or a skip reason (under CI=true a missing one fails the file). */
export function libcoapClient(name: 'coap-client-openssl' | 'coap-client-gnutls'): {
  present: boolean;
  skip: string | false;
} {
  const present = spawnSync(name, ['-h']).error === undefined;
  if (!present && process.env['CI'] === 'true') {
    it(`${name} is installed (required when CI=true)`, () =>
      assert.fail('apt-get install libcoap3-bin'));
  }
  return {
    present,
    skip: present ? false : `${name} not installed (apt-get install libcoap3-bin)`,
  };
}

/** The response codes coap-client logged (`v:1 t:ACK c:4.03 …`), empty when nothing came back. */
export const codes = (out: string): string[] =>
  [...out.matchAll(/v:1 t:(?:ACK|CON|NON|RST) c:(\d\.\d\d)/g)]
    .map((m) => m[1]!)
    .filter((c) => c !== '0.00');

/** A private temporary directory for keys and certificates (mode 0600 files). */
export function keyDir(prefix: string): {
  dir: string;
  file: (name: string, content: string) => string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file: (name, content) => {
      const p = join(dir, name);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A device's enrolled certificate: files for `-c`/`-j`, its serial. */
export interface EnrolledCert {
  cert: string;
  key: string;
  serial: string;
  deviceId: string;
}

/** Enrolls `deviceId` (of the organization `api` manages) for a certificate with a fresh key. */
export async function enrollCertificate(
  t: TestHub,
  api: BulwarkClient,
  deviceId: string,
  dir: ReturnType<typeof keyDir>,
  name: string,
): Promise<EnrolledCert> {
  const { token } = await api.devices.createEnrollmentToken(deviceId, {});
  const { keyPem, csrPem } = await generateDeviceKeyAndCsr();
  const issued = await t.client().enroll({ token, csr: csrPem });
  return {
    cert: dir.file(`${name}.pem`, issued.certificate),
    key: dir.file(`${name}.key`, keyPem),
    serial: issued.serial,
    deviceId,
  };
}

/** A fresh P-256 key pair: the private key file (SEC1 PEM, what `-M` takes) and the public PEM. */
export function rpkKeyPair(
  dir: ReturnType<typeof keyDir>,
  name: string,
): { keyFile: string; publicPem: string } {
  const keyFile = join(dir.dir, `${name}.key`);
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  const publicPem = execFileSync('openssl', ['ec', '-in', keyFile, '-pubout'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  return { keyFile, publicPem };
}

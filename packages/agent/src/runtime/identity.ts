/**
 * The device's identity: a private key generated here (it never leaves the device) and the
 * certificate the hub issued for it. Files are kept by generation (`identity/key-N.pem`,
 * `identity/cert-N.json`); generation N is usable once both exist and match. The key of a new
 * generation is written (0600) before its CSR is sent, and the certificate is written atomically
 * after, so a kill -9 at any point leaves either the old identity or the new one — never none.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IssuedCertificateView } from '@bulwark/protocol';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import type { AgentFiles } from '../ports.js';

/** A usable identity. */
export interface IdentityMaterial {
  generation: number;
  deviceId: string;
  orgId: string;
  serial: string;
  keyPem: string;
  certPem: string;
  /** Issuing CA, then root CA. */
  chain: string[];
  /** The CA of the hub's server certificate. */
  hubCa: string;
  notBefore: number;
  notAfter: number;
}

/** How the agent obtains certificates (the SDK against the hub, in production). */
export interface CertificateAuthority {
  enroll(token: string, csrPem: string): Promise<IssuedCertificateView>;
  /** Claim-based provisioning (decision 0027): claim token + hardware id + CSR → identity. */
  claim?(req: {
    token: string;
    hardwareId: string;
    csr: string;
    type?: string;
  }): Promise<IssuedCertificateView>;
  /** Renewal authenticated by the current identity (mutual TLS). */
  renew(csrPem: string, current: IdentityMaterial): Promise<IssuedCertificateView>;
}

/** How a device without an identity gets its first one. */
export type Credential =
  | { token: string }
  | { factoryIdentityDir: string }
  | { claim: string; hardwareId: string; type?: string };

const enc = new TextEncoder();
const dec = new TextDecoder();
const DIR = 'identity/';
const keyName = (g: number) => `${DIR}key-${g}.pem`;
const csrName = (g: number) => `${DIR}csr-${g}.pem`;
const certName = (g: number) => `${DIR}cert-${g}.json`;

interface StoredCert {
  deviceId: string;
  organizationId: string;
  serial: string;
  certificate: string;
  chain: string[];
  hubCa: string;
}

/** Do this key and certificate belong together? */
function matches(keyPem: string, certPem: string): boolean {
  try {
    const a = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    const b = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    return a.equals(b);
  } catch {
    return false;
  }
}

function splitPems(text: string): string[] {
  return (
    text
      .match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----\n?/g)
      ?.map((p) => p.trim() + '\n') ?? []
  );
}

/** Loads, creates and renews the identity in the agent's files. */
export class IdentityStore {
  private current: IdentityMaterial | undefined;

  constructor(private readonly files: AgentFiles) {}

  /** The identity in use, if any. */
  get identity(): IdentityMaterial | undefined {
    return this.current;
  }

  /** Reads the newest complete generation; older ones are removed once a newer one is usable. */
  async load(): Promise<IdentityMaterial | undefined> {
    const names = await this.files.list(DIR);
    const gens = [
      ...new Set(
        names
          .map((n) => /^identity\/cert-(\d+)\.json$/.exec(n)?.[1])
          .filter((g): g is string => g !== undefined)
          .map(Number),
      ),
    ].sort((a, b) => b - a);
    for (const g of gens) {
      const m = await this.readGeneration(g);
      if (m === undefined) continue;
      this.current = m;
      // Older generations are superseded; a newer key without a certificate is a renewal in progress.
      for (const n of names) {
        const old = /^identity\/(?:key|csr|cert)-(\d+)\./.exec(n);
        if (old && Number(old[1]) < g) await this.files.remove(n);
      }
      return m;
    }
    this.current = undefined;
    return undefined;
  }

  private async readGeneration(g: number): Promise<IdentityMaterial | undefined> {
    const [keyBytes, certBytes] = await Promise.all([
      this.files.read(keyName(g)),
      this.files.read(certName(g)),
    ]);
    if (keyBytes === undefined || certBytes === undefined) return undefined;
    try {
      const keyPem = dec.decode(keyBytes);
      const c = JSON.parse(dec.decode(certBytes)) as StoredCert;
      if (!matches(keyPem, c.certificate)) return undefined;
      const x = new X509Certificate(c.certificate);
      return {
        generation: g,
        deviceId: c.deviceId,
        orgId: c.organizationId,
        serial: c.serial,
        keyPem,
        certPem: c.certificate,
        chain: c.chain,
        hubCa: c.hubCa,
        notBefore: Date.parse(x.validFrom),
        notAfter: Date.parse(x.validTo),
      };
    } catch {
      return undefined;
    }
  }

  /** Key and CSR of generation g: reused if a previous attempt left them, else created (key first). */
  private async keyAndCsr(
    g: number,
    commonName: string,
  ): Promise<{ keyPem: string; csrPem: string }> {
    const [k, c] = await Promise.all([this.files.read(keyName(g)), this.files.read(csrName(g))]);
    if (k !== undefined && c !== undefined) return { keyPem: dec.decode(k), csrPem: dec.decode(c) };
    const fresh = await generateDeviceKeyAndCsr({ commonName });
    // The key is durable before its CSR can reach the hub: a certificate is never issued for a
    // key we could lose.
    await this.files.write(keyName(g), enc.encode(fresh.keyPem), { secret: true });
    await this.files.write(csrName(g), enc.encode(fresh.csrPem));
    return fresh;
  }

  private async store(g: number, issued: StoredCert): Promise<IdentityMaterial> {
    const c: StoredCert = {
      deviceId: issued.deviceId,
      organizationId: issued.organizationId,
      serial: issued.serial,
      certificate: issued.certificate,
      chain: issued.chain,
      hubCa: issued.hubCa,
    };
    await this.files.write(certName(g), enc.encode(JSON.stringify(c, null, 2)));
    const m = await this.load();
    if (m?.generation !== g)
      throw new Error('the issued certificate does not match the device key');
    await this.files.remove(csrName(g));
    return m;
  }

  /** First identity: enroll a fresh key with a one-time token, or import a factory credential. */
  async enroll(credential: Credential, ca: CertificateAuthority): Promise<IdentityMaterial> {
    if ('factoryIdentityDir' in credential)
      return this.importFactory(credential.factoryIdentityDir);
    const g = 1;
    // A retried claim reuses the key and CSR of the first attempt, so a claim whose answer was
    // lost is answered with the same device (the hub matches the hardware id and the key).
    const { csrPem } = await this.keyAndCsr(g, 'bulwark-device');
    if ('claim' in credential) {
      if (ca.claim === undefined) throw new Error('this certificate authority cannot claim');
      const issued = await ca.claim({
        token: credential.claim,
        hardwareId: credential.hardwareId,
        csr: csrPem,
        ...(credential.type === undefined ? {} : { type: credential.type }),
      });
      return this.store(g, issued);
    }
    const issued = await ca.enroll(credential.token, csrPem);
    return this.store(g, issued);
  }

  private async importFactory(dir: string): Promise<IdentityMaterial> {
    const read = (f: string) => readFile(join(dir, f), 'utf8');
    const [keyPem, certPem, caPem, deviceJson] = await Promise.all([
      read('key.pem'),
      read('cert.pem'),
      read('ca.pem'),
      read('device.json'),
    ]);
    const info = JSON.parse(deviceJson) as {
      deviceId: string;
      organizationId: string;
      serial: string;
    };
    const cas = splitPems(caPem);
    // `device create` writes the issuing CA, the root CA, then the hub's server trust bundle
    // (one CA, or an outside CA's chain and the hub's own: decision 0025).
    if (cas.length < 3)
      throw new Error(`${dir}/ca.pem must hold the issuing CA, the root CA and the hub CA`);
    await this.files.write(keyName(1), enc.encode(keyPem), { secret: true });
    return this.store(1, {
      deviceId: info.deviceId,
      organizationId: info.organizationId,
      serial: info.serial,
      certificate: certPem,
      chain: cas.slice(0, 2),
      hubCa: cas.slice(2).join(''),
    });
  }

  /** Whether `fraction` of the certificate's lifetime has passed. */
  needsRenewal(now: number, fraction: number): boolean {
    const m = this.current;
    if (m === undefined) return false;
    return now >= m.notBefore + (m.notAfter - m.notBefore) * fraction;
  }

  /** Renews with a new key (rotation), authenticated by the current certificate. */
  async renew(ca: CertificateAuthority): Promise<IdentityMaterial> {
    const cur = this.current;
    if (cur === undefined) throw new Error('no identity to renew');
    const g = cur.generation + 1;
    const { csrPem } = await this.keyAndCsr(g, cur.deviceId);
    const issued = await ca.renew(csrPem, cur);
    return this.store(g, issued);
  }
}

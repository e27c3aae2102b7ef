/**
 * DTLS handshake failures are authentication failures (decision 0041): an unknown PSK identity or
 * a Finished that does not verify (the wrong key) goes to the one admission rule's failure throttle
 * and becomes the same `auth.failed` event a refused MQTT password does; a source over the
 * throttle's limit has its ClientHellos dropped until its block ends. One wiring for every DTLS
 * endpoint of the hub (CoAP and LwM2M).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { AdmissionError, type PkiService } from '@bulwark/core';
import {
  subjectOrganization,
  type CertificateVerdict,
  type DtlsAuthFailure,
  type ServerCredential,
} from '@bulwark/transport';
import type { HubConfig } from './config.js';
import { hostNames, type ServerTls } from './server-tls.js';
import type { HubServices } from './services.js';

/** The hooks a DTLS server takes to count, report and throttle failed handshakes. */
export function dtlsAuthHooks(services: Pick<HubServices, 'admission' | 'devicePsks'>): {
  retryAfterMs(address: string): number;
  onAuthFailure(f: DtlsAuthFailure): void;
} {
  return {
    retryAfterMs: (address) => services.admission.handshakeRetryAfterMs('coap', address, 'psk'),
    onAuthFailure: (f) => {
      if (f.rawPublicKey !== undefined) {
        // A CertificateVerify that does not verify under the raw key the client sent.
        services.admission.handshakeFailed({
          transport: 'coap',
          source: f.peer.address,
          credential: { kind: 'rpk', spki: f.rawPublicKey },
          reason: 'unknown',
        });
        return;
      }
      if (f.certificate !== undefined) {
        // A CertificateVerify that does not verify: the key is not the certificate's.
        const der = f.certificate;
        const claimedOrgId = subjectOrganization(der);
        services.admission.handshakeFailed({
          transport: 'coap',
          source: f.peer.address,
          credential: { kind: 'certificate', der, claimedOrgId },
          reason: 'unknown',
        });
        return;
      }
      // The organization is known when the identity is (a wrong key for a real identity).
      const orgOf =
        f.reason === 'wrong_key'
          ? services.devicePsks.resolve(f.identity).then((p) => p?.orgId ?? null)
          : Promise.resolve(null);
      void orgOf
        .catch(() => null)
        .then((orgId) =>
          services.admission.handshakeFailed({
            transport: 'coap',
            source: f.peer.address,
            credential: { kind: 'psk', identity: f.identity, ref: '' },
            reason: 'unknown',
            orgId,
          }),
        )
        .catch(() => undefined);
    },
  };
}

/**
 * The judge of a client certificate a DTLS handshake proved the key of: the one admission rule,
 * exactly as MQTT's mutual TLS (chain to the organization's issuing CA, revocation, supersession,
 * the device's existence and state). A refusal is admission's `auth.failed` and counts in its
 * throttle; a quarantined device is admitted (what it may do is the plane policy's: 4.03).
 */
export function dtlsCertificateJudge(
  services: Pick<HubServices, 'admission'>,
): (chain: Buffer[], peer: { address: string }) => Promise<CertificateVerdict> {
  return async (chain, peer) => {
    const der = chain[0]!;
    try {
      await services.admission.admit({
        credential: { kind: 'certificate', der, claimedOrgId: subjectOrganization(der) },
        transport: 'coap',
        source: peer.address,
      });
      return { ok: true };
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      const refusal =
        err.reason === 'revoked' || err.reason === 'superseded'
          ? 'revoked'
          : err.reason === 'expired'
            ? 'expired'
            : err.reason === 'unknown' || err.reason === 'malformed'
              ? 'unknown'
              : 'denied';
      return { ok: false, refusal, reason: `certificate refused (${err.reason}): ${err.message}` };
    }
  };
}

/**
 * The judge of a raw public key (RFC 7250) a DTLS handshake proved: admission by its pin (the
 * device's existence and state as for every kind). An unpinned key is `auth.failed`, throttled.
 */
export function dtlsRawKeyJudge(
  services: Pick<HubServices, 'admission'>,
): (spki: Buffer, peer: { address: string }) => Promise<CertificateVerdict> {
  return async (spki, peer) => {
    try {
      await services.admission.admit({
        credential: { kind: 'rpk', spki },
        transport: 'coap',
        source: peer.address,
      });
      return { ok: true };
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      const refusal = err.reason === 'unknown' || err.reason === 'malformed' ? 'unknown' : 'denied';
      return {
        ok: false,
        refusal,
        reason: `raw public key refused (${err.reason}): ${err.message}`,
      };
    }
  };
}

/**
 * The certificate and key DTLS serves: the hub's TLS server certificate when its key is ECDSA
 * P-256 (the hub-made one always is), else — an operator's RSA or other-curve `--tls-cert` — a
 * P-256 certificate from the hub's own CA for the same names, for DTLS only (the certificate
 * suites of CoAP are ECDSA: RFC 7252 §9.1.3.3).
 */
export async function dtlsServerCredential(
  served: Pick<ServerTls, 'key' | 'cert'>,
  config: Pick<HubConfig, 'publicNames' | 'httpHost'>,
  pki: Pick<PkiService, 'issueServerCertificate' | 'hubCaPem'>,
): Promise<ServerCredential> {
  const key = createPrivateKey(served.key);
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return { key, chain: pemChain(served.cert) };
  const { dns, ips } = hostNames(config);
  const issued = await pki.issueServerCertificate({ dnsNames: dns, ipAddresses: ips });
  return {
    key: createPrivateKey(issued.keyPem),
    chain: pemChain(issued.certPem + '\n' + (await pki.hubCaPem())),
  };
}

/**
 * The DER chain of a PEM bundle without its self-signed root: a client must already trust the
 * root, and leaving it out keeps the Certificate record inside one datagram (RFC 5246 §7.4.2
 * allows omitting it).
 */
function pemChain(pem: string): Buffer[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs = blocks.map((b) => new X509Certificate(b));
  return certs
    .filter((c, i) => i === 0 || !(c.checkIssued(c) && c.verify(c.publicKey)))
    .map((c) => c.raw);
}

import type * as X509 from '@peculiar/x509';

/**
 * @peculiar/x509 (with tsyringe and asn1js) takes long to load, so it is loaded on first use: a
 * client that only sends requests never pays for it (decision 0029). x509 resolves its algorithms
 * through tsyringe, which needs the Reflect metadata API installed before the library module is
 * evaluated: reflect-metadata is loaded first.
 */
async function loadX509(): Promise<typeof X509> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

/** Options for a device key and its certification request. */
export interface DeviceCsrOptions {
  /** The CSR's subject CN (informational: the hub names the certificate after the device). */
  commonName?: string;
  /** The ECDSA curve; P-256 (the default) is what every hub and TLS stack accepts. */
  algorithm?: 'P-256' | 'P-384';
}

/**
 * Generates a device's ECDSA key pair and a PKCS#10 CSR signed by it (RFC 2986), using only
 * WebCrypto (`globalThis.crypto`) so it runs in Node, browsers and other runtimes alike. The private
 * key never leaves the caller: it is returned as PKCS#8 PEM for the device to keep.
 */
export async function generateDeviceKeyAndCsr(
  opts: DeviceCsrOptions = {},
): Promise<{ keyPem: string; csrPem: string }> {
  const x509 = await loadX509();
  const crypto = globalThis.crypto;
  const namedCurve = opts.algorithm ?? 'P-256';
  // Hash strength matched to the curve (RFC 5480 §4): SHA-256 for P-256, SHA-384 for P-384.
  const hash = namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256';
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, [
    'sign',
    'verify',
  ]);
  // The CN is given as an explicit UTF8String: x509's string form would unescape or re-read it.
  const name = new x509.Name([{ CN: [{ utf8String: opts.commonName ?? 'bulwark-device' }] }]);
  // The crypto is passed explicitly rather than set as x509's process-wide default provider.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name, keys, signingAlgorithm: { name: 'ECDSA', hash } },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  // PEM with a final newline, as OpenSSL and every PEM reader writes it.
  return {
    keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`,
    csrPem: `${x509.PemConverter.encode(csr.rawData, 'CERTIFICATE REQUEST')}\n`,
  };
}

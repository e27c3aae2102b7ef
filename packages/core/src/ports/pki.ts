/**
 * The X.509 port. Core decides who gets a certificate and records it; the adapter (@bulwark/pki)
 * does the ASN.1 and the signatures. Private keys cross this port as PKCS#8 PEM and are sealed by
 * core before they are stored.
 */

/** A certificate with its private key. */
export interface KeyedCertificate {
  certPem: string;
  keyPem: string;
}

/** A CA the adapter has just made. */
export interface NewCa extends KeyedCertificate {
  serial: string;
  notAfter: number;
}

/** What core learns from a CSR that passed the adapter's checks. */
export interface CsrInfo {
  /** The CSR's subject as an RFC 4514 string (informational; the certificate's subject is ours). */
  subject: string;
  /** e.g. `EC P-256`, `RSA 3072`, `Ed25519`. */
  keyDescription: string;
  /** SHA-256 of the SubjectPublicKeyInfo, lower-case hex. */
  spkiSha256: string;
}

/** A certificate the adapter has just issued. */
export interface IssuedCertificate {
  certPem: string;
  serial: string;
  fingerprint: string;
  spkiSha256: string;
  notBefore: number;
  notAfter: number;
}

/** What a verified device certificate says. */
export interface VerifiedClientCertificate {
  serial: string;
  deviceId: string;
  orgId: string;
  fingerprint: string;
  spkiSha256: string;
  notBefore: number;
  notAfter: number;
}

export interface CrlEntry {
  serial: string;
  revokedAt: number;
  reason: string;
}

export interface CertificateAuthority {
  /** A self-signed root CA (ECDSA P-256, pathLen 1). */
  createRoot(opts: {
    commonName: string;
    organization: string;
    validityDays: number;
  }): Promise<NewCa>;
  /** An issuing CA (ECDSA P-256, pathLen 0) signed by `root`. */
  createIssuing(
    root: KeyedCertificate,
    opts: { commonName: string; organization: string; validityDays: number },
  ): Promise<NewCa>;
  /**
   * Parses and checks a PEM (or base64 DER) PKCS#10 CSR: well-formed, self-signature valid, key
   * accepted (EC P-256/P-384, RSA ≥ 2048 bits, Ed25519).
   * @throws BulwarkError csr_malformed | csr_signature_invalid | key_unsupported | key_too_weak
   */
  inspectCsr(csrPem: string): Promise<CsrInfo>;
  /**
   * A device certificate for the CSR's key: subject CN=deviceId, O=orgId; URI SANs
   * `urn:bulwark:device:{deviceId}` and `urn:bulwark:org:{orgId}`; clientAuth; not a CA.
   */
  issueDeviceCertificate(
    issuer: KeyedCertificate,
    req: { csrPem: string; deviceId: string; orgId: string; validityDays: number; now: number },
  ): Promise<IssuedCertificate>;
  /** A TLS server certificate with a fresh key for the given DNS names and IP addresses. */
  issueServerCertificate(
    issuer: KeyedCertificate,
    req: {
      commonName: string;
      dnsNames: string[];
      ipAddresses: string[];
      validityDays: number;
      now: number;
    },
  ): Promise<KeyedCertificate & { notAfter: number }>;
  /** A PEM CRL signed by `issuer`. */
  createCrl(
    issuer: KeyedCertificate,
    req: { entries: CrlEntry[]; crlNumber: number; thisUpdate: number; nextUpdate: number },
  ): Promise<string>;
  /**
   * Checks that a presented client certificate (PEM or DER) was signed by `issuerCertPem`, is
   * within its validity at `now`, is meant for client auth and names a device.
   * @throws BulwarkError certificate_invalid
   */
  verifyClientCertificate(
    cert: string | Uint8Array,
    issuerCertPem: string,
    now: number,
  ): Promise<VerifiedClientCertificate>;
}

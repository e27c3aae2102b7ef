import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';

const Pem = Type.String({ minLength: 1, maxLength: 65536 });

export const CertificateSchema = Type.Object(
  {
    serial: Type.String(),
    deviceId: Id,
    fingerprint: Type.String({ description: 'SHA-256 of the DER certificate, hex.' }),
    notBefore: Timestamp,
    notAfter: Timestamp,
    createdAt: Timestamp,
    revokedAt: Nullable(Timestamp),
    revocationReason: Nullable(Type.String()),
    renewedFrom: Nullable(
      Type.String({ description: 'Serial of the certificate this one was renewed from.' }),
    ),
    supersededBy: Nullable(
      Type.String({ description: 'Serial of the certificate that renewed (superseded) this one.' }),
    ),
    /** Once superseded: the end of the overlap, from which the certificate is refused. */
    retireAt: Nullable(Timestamp),
    certificate: Pem,
  },
  { additionalProperties: false },
);
export type CertificateView = Static<typeof CertificateSchema>;

export const CreateEnrollmentTokenRequest = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 7 * 24 * 3600,
        description: 'Default 3600 (one hour).',
      }),
    ),
  },
  { additionalProperties: false },
);
export const EnrollmentTokenSchema = Type.Object(
  {
    token: Type.String({ description: 'One-time; shown only in this response.' }),
    deviceId: Id,
    expiresAt: Timestamp,
  },
  { additionalProperties: false },
);
export type EnrollmentTokenView = Static<typeof EnrollmentTokenSchema>;

export const EnrollRequest = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), csr: Pem },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

export const RenewRequest = Type.Object({ csr: Pem }, { additionalProperties: false });

export const IssuedCertificateSchema = Type.Object(
  {
    deviceId: Id,
    organizationId: Id,
    serial: Type.String(),
    certificate: Pem,
    chain: Type.Array(Pem, { description: 'Issuing CA, then root CA.' }),
    hubCa: Type.String({
      minLength: 1,
      maxLength: 65536,
      description:
        "PEM bundle to trust for the hub's TLS server certificate: the CA chain that signs it (when the operator gave one) and the hub's own CA (decision 0025).",
    }),
    notAfter: Timestamp,
  },
  { additionalProperties: false },
);
export type IssuedCertificateView = Static<typeof IssuedCertificateSchema>;

export const RevokeRequest = Type.Object(
  {
    reason: Type.Optional(
      Type.Union(
        [
          'unspecified',
          'keyCompromise',
          'superseded',
          'cessationOfOperation',
          'affiliationChanged',
        ].map((r) => Type.Literal(r)),
      ),
    ),
  },
  { additionalProperties: false },
);

/** Revoke every live certificate of a device (e.g. its key was stolen and renewed by the thief). */
export const RevokeAllRequest = RevokeRequest;

export const CaBundleSchema = Type.Object(
  {
    root: Pem,
    issuing: Pem,
    hub: Type.String({
      minLength: 1,
      maxLength: 65536,
      description:
        "PEM bundle to trust for the hub's TLS server certificate (an outside CA's chain, then the hub's own CA).",
    }),
    crlUrl: Type.String(),
  },
  { additionalProperties: false },
);
export type CaBundleView = Static<typeof CaBundleSchema>;

export const SerialParams = Type.Object(
  { id: Id, serial: Type.String({ pattern: '^[0-9a-f]{1,64}$' }) },
  { additionalProperties: false },
);

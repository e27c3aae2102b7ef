import { Type } from '@sinclair/typebox';
import { Id, PageQuery, Timestamp } from './common.js';

/** A signed TUF document (root or release metadata): `{ signed, signatures }`, checked by the hub. */
export const SignedDocument = Type.Object(
  { signed: Type.Object({}, { additionalProperties: true }), signatures: Type.Array(Type.Any()) },
  { additionalProperties: true },
);

/** The organization's trusted firmware root. */
export const FirmwareRootSchema = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    root: SignedDocument,
    updatedBy: Type.String(),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);

/** A firmware artifact: signed release metadata, and (once `ready`) its image. */
export const FirmwareArtifactSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    types: Type.Array(Type.String()),
    hardware: Type.Array(Type.String()),
    version: Type.String(),
    releaseCounter: Type.Integer({ minimum: 0 }),
    length: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    state: Type.Union([Type.Literal('pending'), Type.Literal('ready')]),
    metadata: SignedDocument,
    createdBy: Type.String(),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);

export const FirmwareListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

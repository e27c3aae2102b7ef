/**
 * Fleet provisioning (issue 13, decision 0027): registering devices without making their keys,
 * importing many at once, and claim-based provisioning — a claim token baked into a production
 * batch that a device exchanges on its first boot for its own identity, under a template.
 */
import { IMPORT_MAX_ROWS } from './enums.js';

export { IMPORT_MAX_ROWS };
import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, Timestamp } from './common.js';
import { ModeSchema } from './devices.js';

const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });
const Tags = Type.Array(Tag, { maxItems: 32, uniqueItems: true });
const DeviceType = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const DeviceName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
const Pem = Type.String({ minLength: 1, maxLength: 65536 });

/** Largest import request body: 1,000 rows of the largest row the schema allows fit. */
export const IMPORT_BODY_LIMIT = 4 * 1024 * 1024;

/** A hardware id: what the device reads from its hardware (serial number, MAC with dashes …). */
export const HardwareIdSchema = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  description: 'Letters, digits, `.`, `_`, `-`; up to 64 characters (a MAC address: use dashes).',
});

// Said after the field's name when a row is refused (json-check's `errorMessage`); these schemas
// are checked by the hub's import, not by the route's validator.
const WORD = "letters, digits, '.', '_' and '-', starting with a letter or digit";
const RowName = Type.String({
  pattern: DeviceName.pattern,
  errorMessage: `must be 1-128 ${WORD}`,
});
const RowType = Type.String({
  pattern: DeviceType.pattern,
  errorMessage: `must be 1-64 ${WORD}`,
});
const RowTags = Type.Array(
  Type.String({ pattern: Tag.pattern, errorMessage: "must be 1-64 letters, digits or '._:=/-'" }),
  { maxItems: 32, uniqueItems: true, errorMessage: 'must be a list of up to 32 distinct tags' },
);

/** One device of an import. `location` is a location's id or its (unique) name. */
export const ImportDeviceRow = Type.Object(
  {
    name: RowName,
    type: RowType,
    tags: Type.Optional(RowTags),
    location: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    mode: Type.Optional(ModeSchema),
    firmwareType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    firmwareVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type ImportDeviceRow = Static<typeof ImportDeviceRow>;

export const ImportDevicesRequest = Type.Object(
  {
    devices: Type.Array(
      // Each row is checked against ImportDeviceRow by the hub, so that every bad row is reported
      // (schema validation of the whole body would stop at the first).
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'An ImportDeviceRow: name, type, tags, location, mode, firmwareType, firmwareVersion.',
      }),
      { minItems: 1, maxItems: IMPORT_MAX_ROWS },
    ),
    /** Device types the import may introduce; any other type must already be in use. */
    newTypes: Type.Optional(Type.Array(DeviceType, { maxItems: 100, uniqueItems: true })),
    tokenTtlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 30 * 24 * 3600,
        description: "The enrollment tokens' lifetime; default the hub's (one hour).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ImportDevicesRequest = Static<typeof ImportDevicesRequest>;

export const ImportedDeviceSchema = Type.Object(
  {
    row: Type.Integer({ minimum: 1, description: 'The row of the request (1-based).' }),
    id: Id,
    name: DeviceName,
    token: Type.String({ description: 'One-time enrollment token; shown only in this response.' }),
    expiresAt: Timestamp,
  },
  { additionalProperties: false },
);
export type ImportedDeviceView = Static<typeof ImportedDeviceSchema>;

export const ImportDevicesResponse = Type.Object(
  { devices: Type.Array(ImportedDeviceSchema) },
  { additionalProperties: false },
);
export type ImportDevicesResponse = Static<typeof ImportDevicesResponse>;

/** Why one row of a refused import is bad (the `rows` member of an `import_invalid` problem). */
export interface ImportRowProblem {
  row: number;
  name: string | null;
  errors: string[];
}

/** A channel the claimed device is connected to. */
const TemplateChannel = Type.Object(
  { channelId: Id, publish: Type.Boolean(), subscribe: Type.Boolean() },
  { additionalProperties: false },
);

/** What every device provisioned by a claim gets. */
export const ClaimTemplateSchema = Type.Object(
  {
    type: DeviceType,
    tags: Type.Optional(Tags),
    locationId: Type.Optional(Nullable(Id)),
    mode: Type.Optional(ModeSchema),
    firmwareType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    namePrefix: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
        description: 'Device names are `{namePrefix}{hardwareId}`; default `{type}-`.',
      }),
    ),
    channels: Type.Optional(Type.Array(TemplateChannel, { maxItems: 32 })),
  },
  { additionalProperties: false },
);
export type ClaimTemplate = Static<typeof ClaimTemplateSchema>;

/** Most hardware ids one claim's allowlist holds. */
export const CLAIM_MAX_HARDWARE_IDS = 10_000;

export const CreateClaimRequest = Type.Object(
  {
    name: Name,
    template: ClaimTemplateSchema,
    maxDevices: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    ttlSeconds: Type.Integer({
      minimum: 60,
      maximum: 5 * 365 * 24 * 3600,
      description: 'How long the claim token is accepted (a production batch: weeks to years).',
    }),
    hardwareIds: Type.Optional(
      Type.Array(HardwareIdSchema, {
        maxItems: CLAIM_MAX_HARDWARE_IDS,
        uniqueItems: true,
        description: 'Only these hardware ids may claim (with hardwarePattern: either).',
      }),
    ),
    hardwarePattern: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._*?-]{1,64}$',
        description: 'A glob (`*` any run, `?` one character), e.g. `SN-2026-*`.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateClaimRequest = Static<typeof CreateClaimRequest>;

export const ClaimSchema = Type.Object(
  {
    id: Id,
    name: Name,
    template: ClaimTemplateSchema,
    maxDevices: Type.Integer(),
    usedCount: Type.Integer(),
    hardwareIds: Nullable(Type.Integer({ description: 'Size of the allowlist, if any.' })),
    hardwarePattern: Nullable(Type.String()),
    expiresAt: Timestamp,
    revokedAt: Nullable(Timestamp),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
export type ClaimView = Static<typeof ClaimSchema>;

export const CreatedClaimSchema = Type.Object(
  {
    claim: ClaimSchema,
    token: Type.String({ description: 'The claim token; shown only in this response.' }),
  },
  { additionalProperties: false },
);
export type CreatedClaimView = Static<typeof CreatedClaimSchema>;

/** A device's first boot: the claim token, its hardware id and a CSR of the key it made. */
export const ClaimDeviceRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    hardwareId: HardwareIdSchema,
    csr: Pem,
    type: Type.Optional(DeviceType),
  },
  { additionalProperties: false },
);
export type ClaimDeviceRequest = Static<typeof ClaimDeviceRequest>;

import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, PageQuery, Timestamp } from './common.js';
import { DEVICE_SORTS, DEVICE_STATES, LOCATION_KINDS, MAX_DEVICE_OFFSET } from './enums.js';

export { DEVICE_SORTS, DEVICE_STATES, LOCATION_KINDS, MAX_DEVICE_OFFSET };

export const DeviceStateSchema = Type.Union(DEVICE_STATES.map((s) => Type.Literal(s)));
export const ModeSchema = Type.Union([Type.Literal('autonomous'), Type.Literal('controlled')]);
/** A device tag. */
export const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });
const Tags = Type.Array(Tag, { maxItems: 32, uniqueItems: true });
const DeviceType = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const Version = Type.String({ minLength: 1, maxLength: 64 });
const DeviceName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });

export const DeviceSchema = Type.Object(
  {
    id: Id,
    name: DeviceName,
    type: DeviceType,
    firmwareType: Nullable(Type.String()),
    firmwareVersion: Nullable(Version),
    tags: Type.Array(Type.String()),
    mode: ModeSchema,
    state: DeviceStateSchema,
    locationId: Nullable(Id),
    lastSeenAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type DeviceView = Static<typeof DeviceSchema>;

export const CreateDeviceRequest = Type.Object(
  {
    name: DeviceName,
    type: DeviceType,
    firmwareType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    firmwareVersion: Type.Optional(Version),
    tags: Type.Optional(Tags),
    mode: Type.Optional(ModeSchema),
    locationId: Type.Optional(Nullable(Id)),
  },
  { additionalProperties: false },
);
export type CreateDeviceRequest = Static<typeof CreateDeviceRequest>;

export const UpdateDeviceRequest = Type.Object(
  {
    name: Type.Optional(DeviceName),
    type: Type.Optional(DeviceType),
    firmwareType: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
    firmwareVersion: Type.Optional(Nullable(Version)),
    tags: Type.Optional(Tags),
    mode: Type.Optional(ModeSchema),
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('quarantined')])),
    locationId: Type.Optional(Nullable(Id)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDeviceRequest = Static<typeof UpdateDeviceRequest>;

export const DeviceListQuery = Type.Object(
  {
    type: Type.Optional(DeviceType),
    state: Type.Optional(DeviceStateSchema),
    tag: Type.Optional(Type.Union([Tag, Type.Array(Tag, { maxItems: 16 })])),
    location: Type.Optional(
      Type.Union([Id], { description: 'Devices in this location or below it.' }),
    ),
    q: Type.Optional(Type.String({ maxLength: 128, description: 'Substring of the name.' })),
    firmwareVersion: Type.Optional(Version),
    online: Type.Optional(
      Type.Boolean({ description: 'Online now (true) or not (false); never seen is offline.' }),
    ),
    sort: Type.Optional(
      Type.Union(
        DEVICE_SORTS.map((s) => Type.Literal(s)),
        {
          description:
            "Sorted list by position: this column (a leading - for descending, then by id; empty values last). The answer gives `total` and each device's `online`; `cursor` is then a position.",
        },
      ),
    ),
    offset: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_DEVICE_OFFSET,
        description:
          'Skip this many devices of the sorted list (sort defaults to name); not with cursor.',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type DeviceListQuery = Static<typeof DeviceListQuery>;

/** A listed device: with `online` when the list was sorted (`sort` or `offset`). */
export const DeviceListItemSchema = Type.Object(
  { ...DeviceSchema.properties, online: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

/** A page of devices; `total` (devices matching the filter) when the list was sorted. */
export const DevicePageSchema = Type.Object(
  {
    items: Type.Array(DeviceListItemSchema),
    nextCursor: Nullable(Type.String()),
    total: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type DevicePage = Static<typeof DevicePageSchema>;

export const LocationKindSchema = Type.Union(LOCATION_KINDS.map((k) => Type.Literal(k)));

export const LocationSchema = Type.Object(
  { id: Id, parentId: Nullable(Id), kind: LocationKindSchema, name: Name, createdAt: Timestamp },
  { additionalProperties: false },
);
export type LocationView = Static<typeof LocationSchema>;

export const CreateLocationRequest = Type.Object(
  { name: Name, kind: LocationKindSchema, parentId: Type.Optional(Nullable(Id)) },
  { additionalProperties: false },
);
export type CreateLocationRequest = Static<typeof CreateLocationRequest>;

export const UpdateLocationRequest = Type.Object(
  { name: Type.Optional(Name), parentId: Type.Optional(Nullable(Id)) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateLocationRequest = Static<typeof UpdateLocationRequest>;

export const DeviceKeySchema = Type.Object(
  { id: Id, createdAt: Timestamp, revokedAt: Nullable(Timestamp) },
  { additionalProperties: false },
);
export const CreatedDeviceKey = Type.Object(
  {
    deviceKey: DeviceKeySchema,
    key: Type.String({ description: 'The secret; shown only in this response.' }),
  },
  { additionalProperties: false },
);

/** Sets a device's DTLS pre-shared key (decision 0041); the hub makes the key unless one is given. */
export const SetDevicePsk = Type.Object(
  {
    identity: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'The PSK identity the device presents (printable ASCII; unique in the hub).',
    }),
    key: Type.Optional(
      Type.String({
        pattern: '^([0-9a-fA-F]{2}){16,64}$',
        description: 'The key in hex (16–64 bytes); omitted: 16 random bytes.',
      }),
    ),
    bootstrap: Type.Optional(
      Type.Boolean({
        description:
          "A factory LwM2M bootstrap credential (decision 0045): it may only bootstrap (POST /bs on the LwM2M DTLS port), is exchanged there for a fresh device PSK and refused afterwards; the device's PSK is left as it is.",
      }),
    ),
  },
  { additionalProperties: false },
);

/** A device's DTLS pre-shared key as set (the key is shown only in this response). */
export const DevicePsk = Type.Object(
  {
    identity: Type.String(),
    key: Type.String({ description: 'The key in hex; shown only in this response.' }),
  },
  { additionalProperties: false },
);

/** Body of `PUT /devices/:id/dtls-rpk` (RFC 7250; decision 0041). */
export const SetDeviceRpk = Type.Object(
  {
    publicKey: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: "The device's ECDSA P-256 public key, PEM (SubjectPublicKeyInfo).",
    }),
  },
  { additionalProperties: false },
);

/** A device's pinned DTLS raw public key. */
export const DeviceRpk = Type.Object(
  {
    fingerprint: Type.String({ description: 'SHA-256 of the SubjectPublicKeyInfo, hex.' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

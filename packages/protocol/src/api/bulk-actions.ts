import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable } from './common.js';
import { PatchDesiredRequest, SendCommandRequest } from './management.js';

const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });
const Tags = Type.Array(Tag, { minItems: 1, maxItems: 32, uniqueItems: true });

/** The most devices one bulk action names (the console sends a filtered selection in pages). */
export const MAX_BULK_ACTION_DEVICES = 500;

/** One change applied to every selected device, each on its own (issue 15 item 2). */
export const BulkActionSchema = Type.Union([
  Type.Object(
    { kind: Type.Literal('tag'), add: Type.Optional(Tags), remove: Type.Optional(Tags) },
    { additionalProperties: false, minProperties: 2 },
  ),
  Type.Object(
    { kind: Type.Literal('move'), locationId: Nullable(Id) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('quarantine') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('release') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('update'), artifactId: Id }, { additionalProperties: false }),
  // The same patch and command the single-device routes take (decision 0038, third amendment
  // of 2026-12-07).
  Type.Object(
    { kind: Type.Literal('twin'), patch: PatchDesiredRequest.properties.patch },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('command'),
      name: SendCommandRequest.properties.name,
      params: SendCommandRequest.properties.params,
      timeoutSeconds: SendCommandRequest.properties.timeoutSeconds,
    },
    { additionalProperties: false },
  ),
]);
export type BulkAction = Static<typeof BulkActionSchema>;

export const BulkActionRequest = Type.Object(
  {
    deviceIds: Type.Array(Id, {
      minItems: 1,
      maxItems: MAX_BULK_ACTION_DEVICES,
      uniqueItems: true,
    }),
    action: BulkActionSchema,
  },
  { additionalProperties: false },
);
export type BulkActionRequest = Static<typeof BulkActionRequest>;

/** What happened to one device: done, or refused with the error code it would get alone. */
export const BulkActionResultSchema = Type.Object(
  {
    deviceId: Id,
    ok: Type.Boolean(),
    code: Type.Optional(Type.String()),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const BulkActionResponse = Type.Object(
  {
    applied: Type.Integer({ minimum: 0 }),
    refused: Type.Integer({ minimum: 0 }),
    results: Type.Array(BulkActionResultSchema),
  },
  { additionalProperties: false },
);
export type BulkActionResponse = Static<typeof BulkActionResponse>;

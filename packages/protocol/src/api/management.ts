/**
 * Device management over REST (DESIGN.md §3): the device twin (desired and reported state and the
 * delta between them), commands with a lifecycle and a deadline, presence and health, device events,
 * alerts and bulk operations by tag, type or location. The hub carries all of it to and from the
 * device on its `$devices/{id}/…` plane (device-plane.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';
import { ModeSchema } from './devices.js';
import { COMMAND_STATES } from './enums.js';

export { COMMAND_STATES };

/** A JSON object (twin state, command params and results, event detail). */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());

export const DesiredTwinSchema = Type.Object(
  {
    version: Type.Integer({ minimum: 0, description: 'Grows with every change; 0 = never set.' }),
    state: JsonObject,
    updatedAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);

export const TwinErrorSchema = Type.Object(
  { path: Type.String(), message: Type.String() },
  { additionalProperties: false },
);

export const ReportedTwinSchema = Type.Object(
  {
    version: Type.Integer({ minimum: 0, description: "The device's own report counter." }),
    desiredVersion: Type.Integer({ minimum: 0, description: 'The desired version it answers.' }),
    state: JsonObject,
    errors: Type.Array(TwinErrorSchema),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);

export const TwinSchema = Type.Object(
  {
    deviceId: Id,
    desired: DesiredTwinSchema,
    reported: Nullable(ReportedTwinSchema),
    delta: Type.Unknown({
      description:
        'The desired values that differ from the reported ones, as a JSON object of the differing paths ({} when in sync).',
    }),
    inSync: Type.Boolean({
      description: 'The device reported the current desired version, with no delta and no errors.',
    }),
  },
  { additionalProperties: false },
);
export type TwinView = Static<typeof TwinSchema>;

export const PatchDesiredRequest = Type.Object(
  {
    patch: Type.Record(Type.String(), Type.Unknown(), {
      description: 'An RFC 7386 JSON merge patch of the desired state (null deletes a value).',
    }),
    ifVersion: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Apply only if the desired version is this one.' }),
    ),
  },
  { additionalProperties: false },
);
export type PatchDesiredRequest = Static<typeof PatchDesiredRequest>;

export const CommandStateSchema = Type.Union(COMMAND_STATES.map((s) => Type.Literal(s)));

const CommandName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9._-]{0,63}$' });
/** Longest command deadline: 30 days. */
export const MAX_COMMAND_TIMEOUT_SECONDS = 30 * 86_400;
/** Command deadline when none is given: one hour. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 3600;
const TimeoutSeconds = Type.Integer({
  minimum: 1,
  maximum: MAX_COMMAND_TIMEOUT_SECONDS,
  description: 'Seconds until the deadline (default 3600, at most 30 days).',
});

export const SendCommandRequest = Type.Object(
  {
    name: CommandName,
    params: Type.Optional(JsonObject),
    timeoutSeconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type SendCommandRequest = Static<typeof SendCommandRequest>;

export const CommandErrorSchema = Type.Object(
  { code: Type.String(), message: Type.String() },
  { additionalProperties: false },
);

export const CommandHistoryEntrySchema = Type.Object(
  {
    state: CommandStateSchema,
    at: Timestamp,
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const CommandSchema = Type.Object(
  {
    id: Id,
    deviceId: Id,
    name: Type.String(),
    params: JsonObject,
    state: CommandStateSchema,
    deadline: Timestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    result: Nullable(JsonObject),
    error: Nullable(CommandErrorSchema),
    history: Type.Array(CommandHistoryEntrySchema),
  },
  { additionalProperties: false },
);
export type CommandView = Static<typeof CommandSchema>;

export const CommandListQuery = Type.Object(
  { state: Type.Optional(CommandStateSchema), ...PageQuery },
  { additionalProperties: false },
);
export type CommandListQuery = Static<typeof CommandListQuery>;

export const DeviceMetricsSchema = Type.Object(
  {
    at: Timestamp,
    cpuPercent: Type.Number({ minimum: 0 }),
    memory: Type.Object(
      { totalBytes: Type.Number({ minimum: 0 }), availableBytes: Type.Number({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    disk: Type.Object(
      { totalBytes: Type.Number({ minimum: 0 }), availableBytes: Type.Number({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    uptimeSeconds: Type.Number({ minimum: 0 }),
    network: Type.Object(
      { rxBytes: Type.Number({ minimum: 0 }), txBytes: Type.Number({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    listeningPorts: Type.Array(Type.Integer({ minimum: 0, maximum: 65535 })),
    connections: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type DeviceMetricsView = Static<typeof DeviceMetricsSchema>;

export const PresenceSchema = Type.Object(
  {
    deviceId: Id,
    online: Type.Boolean(),
    mode: ModeSchema,
    since: Nullable(Timestamp),
    lastSeenAt: Nullable(Timestamp),
    metrics: Nullable(DeviceMetricsSchema),
  },
  { additionalProperties: false },
);
export type PresenceView = Static<typeof PresenceSchema>;

export const SeveritySchema = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('critical'),
]);

export const DeviceEventSchema = Type.Object(
  {
    id: Id,
    deviceId: Id,
    kind: Type.String(),
    severity: SeveritySchema,
    at: Timestamp,
    receivedAt: Timestamp,
    detail: JsonObject,
  },
  { additionalProperties: false },
);
export type DeviceEventView = Static<typeof DeviceEventSchema>;

export const DeviceEventListQuery = Type.Object(
  {
    kind: Type.Optional(Type.String({ maxLength: 64 })),
    severity: Type.Optional(SeveritySchema),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type DeviceEventListQuery = Static<typeof DeviceEventListQuery>;

const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });

/** Which devices a bulk operation targets (all given conditions hold; decommissioned devices never). */
export const BulkDeviceFilterSchema = Type.Object(
  {
    type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })),
    tag: Type.Optional(Type.Union([Tag, Type.Array(Tag, { minItems: 1, maxItems: 16 })])),
    location: Type.Optional(
      Type.Union([Id], { description: 'Devices in this location or below it.' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type BulkDeviceFilter = Static<typeof BulkDeviceFilterSchema>;

export const BulkPatchDesiredRequest = Type.Object(
  { filter: BulkDeviceFilterSchema, patch: PatchDesiredRequest.properties.patch },
  { additionalProperties: false },
);
export type BulkPatchDesiredRequest = Static<typeof BulkPatchDesiredRequest>;

export const BulkPatchResultSchema = Type.Object(
  {
    matched: Type.Integer({ minimum: 0 }),
    updated: Type.Integer({ minimum: 0, description: 'Devices whose desired state changed.' }),
  },
  { additionalProperties: false },
);
export type BulkPatchResult = Static<typeof BulkPatchResultSchema>;

export const BulkSendCommandRequest = Type.Object(
  {
    filter: BulkDeviceFilterSchema,
    name: CommandName,
    params: Type.Optional(JsonObject),
    timeoutSeconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type BulkSendCommandRequest = Static<typeof BulkSendCommandRequest>;

export const BulkCommandResultSchema = Type.Object(
  { matched: Type.Integer({ minimum: 0 }), commandIds: Type.Array(Id) },
  { additionalProperties: false },
);
export type BulkCommandResult = Static<typeof BulkCommandResultSchema>;

/** An LwM2M path as the API takes it: /object[/instance[/resource[/resource instance]]]. */
const Lwm2mPath = Type.String({ pattern: '^/?[0-9]{1,5}(/[0-9]{1,5}){0,3}$', maxLength: 32 });

/** A Read or Discover of an LwM2M device (decision 0043): queued as a command, audited. */
export const Lwm2mReadRequest = Type.Object(
  {
    path: Lwm2mPath,
    discover: Type.Optional(
      Type.Boolean({ description: 'Discover (link format with attributes) instead of Read.' }),
    ),
    timeoutSeconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type Lwm2mReadRequest = Static<typeof Lwm2mReadRequest>;

// Unchecked here and checked by the hub (`operations.ts`): the API coerces types, and a union with a
// string would turn 7 into "7" (and a number null into 0) — the device must get what was sent.
const Lwm2mScalar = Type.Unsafe<string | number | boolean>({
  description: 'A string, number or boolean.',
});
const Threshold = Type.Optional(
  Type.Unsafe<number | null>({ description: 'A number, or null to remove the attribute.' }),
);

/**
 * An operation that changes an LwM2M device (decision 0043, 2026-12-07): Write (`path`, `value`),
 * Execute (`path`, `args`), Create (`path` /object, `instance`?, `values`), Delete (`path`
 * /object/instance) or Write-Attributes (`path`, `attributes`). Queued as a command; a device in
 * queue mode gets it when it next wakes.
 */
export const Lwm2mOperationRequest = Type.Object(
  {
    operation: Type.Union([
      Type.Literal('write'),
      Type.Literal('execute'),
      Type.Literal('create'),
      Type.Literal('delete'),
      Type.Literal('attributes'),
    ]),
    path: Lwm2mPath,
    value: Type.Optional(Lwm2mScalar),
    args: Type.Optional(Type.String({ maxLength: 256 })),
    instance: Type.Optional(Type.Integer({ minimum: 0, maximum: 65534 })),
    values: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{1,5}$' }), Lwm2mScalar)),
    attributes: Type.Optional(
      Type.Object(
        { pmin: Threshold, pmax: Threshold, gt: Threshold, lt: Threshold, st: Threshold },
        { additionalProperties: false },
      ),
    ),
    timeoutSeconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type Lwm2mOperationRequest = Static<typeof Lwm2mOperationRequest>;

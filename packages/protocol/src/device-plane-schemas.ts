/**
 * The messages of the device management plane (device-plane.ts) as JSON Schemas (TypeBox), so the
 * hub, the agent and the AsyncAPI document read one definition. What JSON Schema cannot say is
 * left to the parsers and said here at the field: a timestamp that is a real date (`Date.parse`),
 * the depth and size of free-form JSON objects (the hub's twin limits), payload sizes.
 *
 * `errorMessage` on a node is the phrase a refusal says after the field's name (json-check.ts).
 */
import { Type } from '@sinclair/typebox';
import {
  CountSchema,
  hubObject,
  JsonObjectSchema,
  NonNegative,
  object,
  Rfc3339Schema,
} from './schema-parts.js';

/** `twin/desired` (hub → device, retained): the desired state and its version. */
export const DesiredTwinPayload = hubObject(
  { version: CountSchema, state: JsonObjectSchema },
  'The desired state the hub holds for the device; `version` grows with every change.',
);

/** One value the device could not apply. */
export const TwinErrorPayload = object(
  {
    path: Type.String({ errorMessage: 'must be a string' }),
    message: Type.String({ errorMessage: 'must be a string' }),
  },
  'A value the device could not apply, by its JSON path (e.g. `sampling.intervalSeconds`).',
  'must be { path: string, message: string }',
);

/** `twin/reported` (device → hub). */
export const ReportedTwinPayload = object(
  {
    version: CountSchema,
    desiredVersion: CountSchema,
    state: JsonObjectSchema,
    errors: Type.Array(TwinErrorPayload, {
      maxItems: 1000,
      errorMessage: 'must be an array of at most 1000 { path, message }',
    }),
  },
  "What the device runs: `state` as applied, the desired `version` it answers, the values it refused; `version` is the device's own counter.",
);

/** `commands/{commandId}` (hub → device). */
export const CommandRequestPayload = hubObject(
  {
    id: Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' }),
    name: Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' }),
    params: JsonObjectSchema,
    deadline: Rfc3339Schema,
  },
  'A command for the device; it is not run after its deadline.',
);

/** `commands/{commandId}/status` (device → hub). */
export const CommandStatusPayload = object(
  {
    state: Type.Union(
      [Type.Literal('delivered'), Type.Literal('succeeded'), Type.Literal('failed')],
      { errorMessage: 'must be "delivered", "succeeded" or "failed"' },
    ),
    result: Type.Optional(JsonObjectSchema),
    error: Type.Optional(
      object(
        {
          code: Type.String({ maxLength: 64, errorMessage: 'must be a string ≤ 64 characters' }),
          message: Type.String({
            maxLength: 2048,
            errorMessage: 'must be a string ≤ 2048 characters',
          }),
        },
        'Why the command failed (`unknown_command`, `invalid_params`, `deadline_passed` …).',
        'must be { code: string, message: string }',
      ),
    ),
  },
  'What the device reports about a command: received (`delivered`), then its outcome.',
);

/** One device event. */
export const DeviceEventPayload = object(
  {
    kind: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$',
      errorMessage: 'must be a name of 1-64 letters, digits, _.:-',
    }),
    severity: Type.Union(
      [Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')],
      { errorMessage: 'must be "info", "warning" or "critical"' },
    ),
    at: Rfc3339Schema,
    detail: Type.Optional(JsonObjectSchema),
  },
  'Something the device noticed: a local alarm, an autonomous action, a suspicious connection, a local session …',
);

/** Most events one `events` message may carry. */
export const MAX_EVENTS_PER_MESSAGE = 100;

/** `events` (device → hub) as the parsers check it: an array of events. */
export const DeviceEventListPayload = Type.Array(DeviceEventPayload, {
  minItems: 1,
  maxItems: MAX_EVENTS_PER_MESSAGE,
  errorMessage: `must hold 1 to ${MAX_EVENTS_PER_MESSAGE} events`,
});

/** `events` (device → hub) on the wire: an array of events, or one event alone. */
export const DeviceEventsPayload = Type.Union([DeviceEventListPayload, DeviceEventPayload], {
  description: `1 to ${MAX_EVENTS_PER_MESSAGE} events; a single event object is taken as a list of one.`,
});

const pair = (a: string, b: string) =>
  object(
    { [a]: NonNegative, [b]: NonNegative },
    `${a} and ${b}`,
    `must be { ${a}, ${b} } of numbers ≥ 0`,
  );

/** `metrics` (device → hub, QoS 0). */
export const DeviceMetricsPayload = object(
  {
    at: Rfc3339Schema,
    cpuPercent: NonNegative,
    memory: pair('totalBytes', 'availableBytes'),
    disk: pair('totalBytes', 'availableBytes'),
    uptimeSeconds: NonNegative,
    network: pair('rxBytes', 'txBytes'),
    listeningPorts: Type.Array(
      Type.Integer({ minimum: 0, maximum: 65535, errorMessage: 'must be a port number' }),
      { maxItems: 1024, errorMessage: 'must be an array of at most 1024 port numbers' },
    ),
    connections: CountSchema,
  },
  "The device's health snapshot.",
);

/** `presence` (device → hub, retained; also the device's MQTT will). */
export const PresencePayload = object(
  {
    online: Type.Boolean({ errorMessage: 'must be true or false' }),
    mode: Type.Optional(
      Type.Union([Type.Literal('autonomous'), Type.Literal('controlled')], {
        errorMessage: 'must be "autonomous" or "controlled"',
      }),
    ),
  },
  'Online or offline; the will (`{online: false}`) tells the hub of a lost link.',
);

/**
 * `tunnels/{sessionId}` (hub → device): dial this remote-access relay session out to the hub
 * (decision 0042). The secret authenticates the device's leg (with its certificate); the device
 * refuses an offer past `expiresAt` or for a target it does not allow.
 */
export const TunnelOfferPayload = hubObject(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', errorMessage: 'must be a session id' }),
    secret: Type.String({
      pattern: '^[A-Za-z0-9_-]{32,64}$',
      errorMessage: 'must be a base64url secret',
    }),
    path: Type.String({
      pattern: '^/api/v1/relay/[A-Za-z0-9_-]{1,64}$',
      errorMessage: 'must be the relay path',
    }),
    target: Type.String({
      pattern: '^(local|serial|tcp:[1-9][0-9]{0,4})$',
      errorMessage: 'must be local, serial or tcp:PORT',
    }),
    expiresAt: Rfc3339Schema,
  },
  'A remote-access session to dial out to the hub (HTTP Upgrade `bulwark-relay/1` at `path`).',
);

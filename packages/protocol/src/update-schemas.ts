/**
 * The messages of the firmware update plane (updates.ts) as JSON Schemas (TypeBox), read by the
 * hub, the agent and the AsyncAPI document. Left to the parsers, and said at the field: a
 * download's `bytes` not above its `total`, `installed` only with succeeded / rolled_back,
 * payload sizes.
 */
import { Type } from '@sinclair/typebox';
import { CountSchema, hubObject, object, Rfc3339Schema } from './schema-parts.js';
import { firstProblem } from './json-check.js';
import { UPDATE_JOB_STATES } from './updates.js';

const text = (max: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength: max,
    errorMessage: `must be a string of 1..${max} characters`,
    ...(description !== undefined ? { description } : {}),
  });

/** The states a device reports (`queued` and `timed_out` are the hub's own). */
export const DEVICE_REPORTED_UPDATE_STATES = UPDATE_JOB_STATES.filter(
  (s) => s !== 'queued' && s !== 'timed_out',
);

/** `firmware` (device → hub), also nested in a status report as `installed`. */
export const InstalledFirmwarePayload = object(
  {
    type: text(128, 'The device type (hardware model) the agent is configured as.'),
    hardware: Type.Optional(text(128)),
    version: text(128),
    releaseCounter: CountSchema,
    slot: Type.Optional(
      Type.Union([Type.Literal('a'), Type.Literal('b')], { errorMessage: 'must be a or b' }),
    ),
  },
  'What the device runs: after every connect and every commit. The source of truth for its firmware version.',
);

/** `updates/{jobId}/status` (device → hub). */
export const UpdateStatusReportPayload = object(
  {
    state: Type.Union(
      DEVICE_REPORTED_UPDATE_STATES.map((s) => Type.Literal(s)),
      { errorMessage: `must be one of ${DEVICE_REPORTED_UPDATE_STATES.join(', ')}` },
    ),
    progress: Type.Optional(
      object(
        { bytes: CountSchema, total: CountSchema },
        'For `downloading`: bytes so far of total (bytes ≤ total).',
        'must be { bytes, total } with 0 ≤ bytes ≤ total',
      ),
    ),
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[a-z0-9][a-z0-9_.:-]*$',
        description:
          'For failed / rejected / rolled_back, and a refused cancel: a machine code (`bad_signature`, `hash_mismatch`, `too_late` …).',
        errorMessage: 'must be a string of 1..64 characters',
      }),
    ),
    message: Type.Optional(text(2048)),
    delta: Type.Optional(
      object(
        { totalBytes: CountSchema, downloadedBytes: CountSchema, reusedBytes: CountSchema },
        'From `downloaded` on: what a delta download saved.',
        'must be { totalBytes, downloadedBytes, reusedBytes } counts',
      ),
    ),
    installed: Type.Optional(InstalledFirmwarePayload),
    cancel: Type.Optional(
      Type.Literal('refused', {
        description:
          "The device's answer to a cancel request it will not follow (too late); a confirmation is `state: canceled`.",
        errorMessage: 'must be "refused"',
      }),
    ),
  },
  "The device's report on one job; `installed` only with succeeded and rolled_back.",
);

const Id = text(128, 'The job id (the topic level).');

/** `updates/{jobId}` (hub → device): install this artifact. */
export const UpdateInstallOfferPayload = hubObject(
  {
    action: Type.Literal('install'),
    id: Id,
    artifactId: text(128),
    metadata: Type.String({
      description: 'The signed release metadata (TUF targets JSON text) as uploaded.',
      errorMessage: 'must be a string',
    }),
    root: Type.String({
      description: "The organization's trusted root (TUF root JSON text).",
      errorMessage: 'must be a string',
    }),
    imagePath: Type.String({
      minLength: 1,
      description: "The image's path on the hub's HTTPS API (mutual TLS, HTTP Range).",
      errorMessage: 'must be a string',
    }),
    length: CountSchema,
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', errorMessage: 'must be 64 hex digits' }),
    deadline: Rfc3339Schema,
  },
  'Install this artifact: the device verifies the signed metadata against its pinned root before anything is downloaded.',
);

/** `updates/{jobId}` (hub → device): stop this job (a request; decision 0015). */
export const UpdateCancelOfferPayload = hubObject(
  { action: Type.Literal('cancel'), id: Id },
  'Stop this job: the device confirms with a `canceled` status or refuses with `cancel: refused`.',
);

/** `updates/{jobId}` (hub → device) on the wire. */
export const UpdateOfferPayload = Type.Union(
  [UpdateInstallOfferPayload, UpdateCancelOfferPayload],
  {
    description: 'An install offer or a cancel request, by `action`.',
  },
);

/**
 * The first problem of an update offer, checked as the variant its `action` names (so the
 * sentence names the field, not "no variant matched"), or null when it is one.
 */
export function updateOfferProblem(v: unknown): string | null {
  const action =
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as { action?: unknown }).action
      : undefined;
  if (action === 'install') return firstProblem(UpdateInstallOfferPayload, v);
  if (action === 'cancel') return firstProblem(UpdateCancelOfferPayload, v);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a JSON object';
  return `"action" must be "install" or "cancel", not ${JSON.stringify(action) ?? 'missing'}`;
}

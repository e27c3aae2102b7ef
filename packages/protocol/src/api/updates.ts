/** Firmware update jobs (decision 0008): deploy one artifact to one device, follow, cancel. */
import { Type, type Static } from '@sinclair/typebox';
import { UPDATE_JOB_STATES } from '../updates.js';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';

/** A job's state. */
export const UpdateJobStateSchema = Type.Union(UPDATE_JOB_STATES.map((s) => Type.Literal(s)));

/** Up to 30 days. */
export const UpdateTimeoutSeconds = Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 });

export const DeployUpdateRequest = Type.Object(
  {
    artifactId: Id,
    /** The job times out if not finished by then (default 24 h). */
    timeoutSeconds: Type.Optional(UpdateTimeoutSeconds),
  },
  { additionalProperties: false },
);
export type DeployUpdateRequest = Static<typeof DeployUpdateRequest>;

const Count = Type.Integer({ minimum: 0 });

export const UpdateJobHistoryEntrySchema = Type.Object(
  {
    /** The job's state after this entry (unchanged for an `event` entry). */
    state: UpdateJobStateSchema,
    at: Timestamp,
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    by: Type.Optional(Type.String()),
    event: Type.Optional(
      Type.Union(
        [
          Type.Literal('cancel_requested'),
          Type.Literal('cancel_refused'),
          Type.Literal('feedback'),
          Type.Literal('truncated'),
        ],
        {
          description:
            'Set when the entry is not (only) a change of state: a cancel asked for or refused by the device, a device message that changed no state, or the note that older entries were dropped.',
        },
      ),
    ),
    dropped: Type.Optional(Count),
  },
  { additionalProperties: false },
);

export const UpdateJobSchema = Type.Object(
  {
    id: Id,
    /** A hub-unique positive integer (the hawkBit DDI action id). */
    actionId: Type.Integer({ minimum: 1 }),
    deviceId: Id,
    artifactId: Id,
    rolloutId: Nullable(Id),
    origin: Type.Union([
      Type.Literal('deploy'),
      Type.Literal('rollout'),
      Type.Literal('auto-upgrade'),
    ]),
    state: UpdateJobStateSchema,
    progress: Nullable(
      Type.Object({ bytes: Count, total: Count }, { additionalProperties: false }),
    ),
    reason: Nullable(Type.String()),
    message: Nullable(Type.String()),
    delta: Nullable(
      Type.Object(
        { totalBytes: Count, downloadedBytes: Count, reusedBytes: Count },
        { additionalProperties: false },
      ),
    ),
    history: Type.Array(UpdateJobHistoryEntrySchema),
    cancelRequested: Nullable(
      Type.Object(
        { by: Type.String(), at: Timestamp },
        {
          additionalProperties: false,
          description:
            'A cancel the device has not answered yet: the job keeps its state until the device confirms (canceled) or refuses (the request is dropped).',
        },
      ),
    ),
    createdBy: Type.String(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deadline: Timestamp,
  },
  { additionalProperties: false },
);
export type UpdateJobView = Static<typeof UpdateJobSchema>;

/** The body of a cancel: a request the device answers, unless forced. */
export const CancelUpdateJobRequest = Type.Object(
  {
    force: Type.Optional(
      Type.Boolean({
        description:
          'End the job canceled at once, in any open state, without waiting for the device (for a device that is gone). The device is still told to stop when it is back; what it reports about the job afterwards is not recorded.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CancelUpdateJobRequest = Static<typeof CancelUpdateJobRequest>;

export const UpdateJobsQuery = Type.Object(
  {
    deviceId: Type.Optional(Id),
    rolloutId: Type.Optional(Id),
    artifactId: Type.Optional(Id),
    state: Type.Optional(UpdateJobStateSchema),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type UpdateJobsQuery = Static<typeof UpdateJobsQuery>;

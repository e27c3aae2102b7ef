/**
 * The live event stream (`GET /events/stream`, decision 0038 amendment of 2026-12-07): the
 * organization's domain events a browser may see, as Server-Sent Events. Each `data:` line is one
 * `LiveEvent` as JSON; the `id:` line is its stream id (send it back as `Last-Event-ID`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './common.js';

export const EventStreamQuery = Type.Object(
  {
    deviceId: Type.Optional(
      Type.Union([Id], { description: 'Only the events of this device (alerts: those on it).' }),
    ),
  },
  { additionalProperties: false },
);
export type EventStreamQuery = Static<typeof EventStreamQuery>;

/** Fields of every live event. */
interface LiveBase {
  /** When it happened (RFC 3339). */
  at: string;
}

/** One event of the stream, by type (only the fields a console needs; no addresses, no node ids). */
export type LiveEvent = LiveBase &
  (
    | { type: 'device.connected'; deviceId: string; transport: string }
    | {
        type: 'device.disconnected';
        deviceId: string;
        transport: string;
        reason: string;
        clean: boolean;
      }
    | { type: 'device.session_taken_over'; deviceId: string; transport: string }
    | { type: 'device.state_changed'; deviceId: string; from: string; to: string }
    | {
        type: 'certificate.issued' | 'certificate.renewed' | 'certificate.revoked';
        deviceId: string;
        serial: string;
        reason: string | null;
      }
    | { type: 'device_key.revoked'; deviceId: string; keyId: string }
    | { type: 'command.transition'; deviceId: string; commandId: string; state: string }
    | {
        type: 'update_job.transition';
        deviceId: string;
        jobId: string;
        state: string;
        rolloutId: string | null;
      }
    | { type: 'rollout.transition'; deviceId: null; rolloutId: string; state: string }
    | {
        /** The device reported `count` events, or `count` of its log records were stored. */
        type: 'device.events_reported' | 'device.logs_stored';
        deviceId: string;
        count: number;
      }
    | {
        type: 'twin.desired_changed' | 'twin.reported_changed';
        deviceId: string;
        version: number;
      }
    | {
        type:
          | 'alert.opened'
          | 'alert.reopened'
          | 'alert.acknowledged'
          | 'alert.resolved'
          | 'alert.changed';
        alertId: string;
        kind: string;
        severity: string;
        deviceId: string | null;
      }
    | {
        type: 'detect.fired' | 'detect.resolved';
        deviceId: string | null;
        ruleId: string;
        subject: string;
      }
  );

export type LiveEventType = LiveEvent['type'];

/**
 * The stream's control frames (SSE `event:` names; data frames use the default `message`):
 * `ready` once subscribed, `reset` when a `Last-Event-ID` could not be resumed (reload the state),
 * `end` with `{ reason }` just before the hub closes the stream.
 */
export type LiveControl = 'ready' | 'reset' | 'end';

/** Why the hub ended a stream (`end` frame). */
export type LiveEndReason = 'credential_invalid' | 'shutdown';

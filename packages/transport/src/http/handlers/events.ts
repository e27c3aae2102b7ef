/**
 * `GET /events/stream` (decision 0038 amendment): the organization's live events as Server-Sent
 * Events. The route needs `devices:read`; the stream filters by organization and permission.
 */
import type { Handlers } from '../context.js';
import { principalOf } from '../context.js';
import { openEventStream, type LiveEvents, type StreamCloseReason } from '../event-stream.js';

export function eventHandlers(
  live: LiveEvents,
  onStream?: (what: 'open' | StreamCloseReason) => void,
): Pick<Handlers, 'streamEvents'> {
  return {
    streamEvents: async ({ query, lastEventId }, ctx) => {
      const principal = principalOf(ctx);
      const reauthenticate = ctx.reauthenticate;
      if (!reauthenticate) throw new Error('streamEvents: no credential to check again');
      onStream?.('open');
      const body = openEventStream({
        live,
        principal,
        reauthenticate,
        ...(query?.deviceId !== undefined ? { deviceId: query.deviceId } : {}),
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        ...(onStream ? { onClose: onStream } : {}),
      });
      return {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          // A reverse proxy must pass each frame on at once.
          'x-accel-buffering': 'no',
        },
        body,
      };
    },
  };
}

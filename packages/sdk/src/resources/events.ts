/**
 * The live event stream (`GET /events/stream`, decision 0038 amendment): Server-Sent Events read
 * with fetch, so the access token travels in the Authorization header as for every other call —
 * never in a URL (EventSource cannot send headers).
 */
import type { LiveEvent } from '@bulwark/protocol';
import type { Call, QueryOf } from '../types.js';

/** One frame of the stream: an event with its stream id, or a control frame. */
export type StreamFrame =
  | { kind: 'event'; id: string | null; event: LiveEvent }
  | { kind: 'ready' }
  | { kind: 'reset' }
  | { kind: 'end'; reason: string };

/** Splits a text/event-stream body into frames (WHATWG HTML §9.2 parsing, without `retry`). */
export async function* parseEventStream(
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string; id: string | null }> {
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  const chunks: AsyncIterable<Uint8Array> =
    Symbol.asyncIterator in body
      ? (body as AsyncIterable<Uint8Array>)
      : readAll(body as ReadableStream<Uint8Array>);
  for await (const chunk of chunks) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length > 0 || event !== '')
          yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // a comment: the heartbeat
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}

async function* readAll(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

export function eventsApi(call: Call) {
  return {
    /**
     * The organization's live events until the hub ends the stream, `signal` aborts it or the
     * connection drops (the iteration then throws; reconnect with the last frame's `id` as
     * `lastEventId` to resume — a `reset` frame says the gap could not be filled).
     */
    async *stream(
      opts: QueryOf<'streamEvents'> & { lastEventId?: string; signal?: AbortSignal } = {},
    ): AsyncGenerator<StreamFrame> {
      const { lastEventId, signal, ...query } = opts;
      const res = await call('streamEvents', {
        query,
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      if (!res.body) return;
      for await (const f of parseEventStream(res.body)) {
        if (f.event === 'message') {
          yield { kind: 'event', id: f.id, event: JSON.parse(f.data) as LiveEvent };
        } else if (f.event === 'ready' || f.event === 'reset') yield { kind: f.event };
        else if (f.event === 'end') {
          const reason = (JSON.parse(f.data || '{}') as { reason?: string }).reason ?? 'unknown';
          yield { kind: 'end', reason };
          return;
        }
      }
    },
  };
}

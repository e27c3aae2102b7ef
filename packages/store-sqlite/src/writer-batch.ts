/**
 * How a batch of envelopes crosses to the writer thread (decision 0033 §3): the payloads copied
 * into one buffer that is transferred, not cloned, and the other fields as one flat array.
 *
 * Cloning the envelopes themselves cost more than the data: a payload is a view into the socket
 * chunk it was read from, and the structured clone copies each distinct chunk whole (up to 64 KiB
 * for a 100-byte payload; ~10 µs per envelope in one-envelope batches), and nested objects clone
 * slower than a flat array of strings and numbers.
 */
import type { Envelope, IngestProtocol, SenmlRecord } from '@bulwark/core';

/** Fields per envelope in `fields`. */
const WIDTH = 11;

export interface PackedBatch {
  /** Per envelope: id, orgId, channelId, subtopic, publisher type, publisher id, protocol,
   * content type, received at, SenML records or null, origin. */
  fields: unknown[];
  /** Payload end offsets in `bytes`, one per envelope. */
  ends: number[];
  /** Its own ArrayBuffer (made here), so it can be transferred. */
  bytes: Uint8Array<ArrayBuffer>;
}

/** Packs a batch; `bytes.buffer` is to be transferred. */
export function packBatch(envelopes: readonly Envelope[]): PackedBatch {
  let total = 0;
  for (const e of envelopes) total += e.payload.byteLength;
  const bytes = new Uint8Array(total);
  const fields = new Array<unknown>(envelopes.length * WIDTH);
  const ends = new Array<number>(envelopes.length);
  let off = 0;
  let f = 0;
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i]!;
    bytes.set(e.payload, off);
    off += e.payload.byteLength;
    ends[i] = off;
    fields[f++] = e.id;
    fields[f++] = e.orgId;
    fields[f++] = e.channelId;
    fields[f++] = e.subtopic;
    fields[f++] = e.publisher.type;
    fields[f++] = e.publisher.id;
    fields[f++] = e.protocol;
    fields[f++] = e.contentType;
    fields[f++] = e.receivedAt;
    fields[f++] = e.senml ?? null;
    fields[f++] = e.origin;
  }
  return { fields, ends, bytes };
}

/** The envelopes of a packed batch (payloads are views into its one buffer). */
export function unpackBatch(b: PackedBatch): Envelope[] {
  const out = new Array<Envelope>(b.ends.length);
  let start = 0;
  let f = 0;
  const x = b.fields;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    const senml = x[f + 9] as SenmlRecord[] | null;
    out[i] = {
      id: x[f] as string,
      orgId: x[f + 1] as string,
      channelId: x[f + 2] as string,
      subtopic: x[f + 3] as string,
      publisher: { type: x[f + 4] as 'device' | 'api_key', id: x[f + 5] as string },
      protocol: x[f + 6] as IngestProtocol,
      contentType: x[f + 7] as string,
      receivedAt: x[f + 8] as number,
      payload: b.bytes.subarray(start, end),
      ...(senml === null ? {} : { senml }),
      origin: x[f + 10] as string,
    };
    f += WIDTH;
    start = end;
  }
  return out;
}

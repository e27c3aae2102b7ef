/**
 * How a batch of envelopes crosses to the writer thread (decision 0033 §3): the payloads copied
 * into one buffer that is transferred, not cloned, and the other fields as one flat array.
 *
 * Cloning the envelopes themselves cost more than the data: a payload is a view into the socket
 * chunk it was read from, and the structured clone copies each distinct chunk whole (up to 64 KiB
 * for a 100-byte payload; ~10 µs per envelope in one-envelope batches), and nested objects clone
 * slower than a flat array of strings and numbers. SenML records too: as objects they were the
 * largest part of the clone on the main thread (~6 % of the hub's CPU at 1,000 devices, two records
 * a message); they travel as one flat array of RECORD_WIDTH values each.
 */
import type { Envelope, IngestProtocol, SenmlRecord } from '@bulwark/core';

/** Fields per envelope in `fields`. */
const WIDTH = 11;
/** Values per SenML record in `records`: n, t, u, v, vs, vb, vd, s, ut (undefined when absent). */
const RECORD_WIDTH = 9;

export interface PackedBatch {
  /** Per envelope: id, orgId, channelId, subtopic, publisher type, publisher id, protocol,
   * content type, received at, its SenML record count (-1: none), origin. */
  fields: unknown[];
  /** The SenML records of every envelope in turn, RECORD_WIDTH values each. */
  records: unknown[];
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
  const records: unknown[] = [];
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
    fields[f++] = e.senml === undefined ? -1 : e.senml.length;
    fields[f++] = e.origin;
    if (e.senml !== undefined)
      for (const r of e.senml) records.push(r.n, r.t, r.u, r.v, r.vs, r.vb, r.vd, r.s, r.ut);
  }
  return { fields, ends, records, bytes };
}

/** The envelopes of a packed batch (payloads are views into its one buffer). */
export function unpackBatch(b: PackedBatch): Envelope[] {
  const out = new Array<Envelope>(b.ends.length);
  let start = 0;
  let f = 0;
  let r = 0;
  const x = b.fields;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    const count = x[f + 9] as number;
    let senml: SenmlRecord[] | null = null;
    if (count >= 0) {
      senml = new Array<SenmlRecord>(count);
      for (let k = 0; k < count; k++, r += RECORD_WIDTH) senml[k] = unpackRecord(b.records, r);
    }
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

/** One SenML record from `x[at…]`, with only the fields it had. */
function unpackRecord(x: unknown[], at: number): SenmlRecord {
  const rec: SenmlRecord = { n: x[at] as string, t: x[at + 1] as number };
  if (x[at + 2] !== undefined) rec.u = x[at + 2] as string;
  if (x[at + 3] !== undefined) rec.v = x[at + 3] as number;
  if (x[at + 4] !== undefined) rec.vs = x[at + 4] as string;
  if (x[at + 5] !== undefined) rec.vb = x[at + 5] as boolean;
  if (x[at + 6] !== undefined) rec.vd = x[at + 6] as string;
  if (x[at + 7] !== undefined) rec.s = x[at + 7] as number;
  if (x[at + 8] !== undefined) rec.ut = x[at + 8] as number;
  return rec;
}

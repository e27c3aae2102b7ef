import { Buffer } from 'node:buffer';
import type { Envelope, IngestProtocol, SenmlRecord } from '@bulwark/core';

/** A row of `messages`: the payload is a BLOB/bytea (a Buffer from either driver), SenML JSON text. */
export interface MessageRow {
  id: string;
  org_id: string;
  channel_id: string;
  subtopic: string;
  publisher_type: string;
  publisher_id: string;
  protocol: string;
  content_type: string;
  received_at: number;
  payload: Uint8Array;
  senml: string | null;
  origin: string;
}

/** A `messages` row as its envelope. */
export const toEnvelope = (r: MessageRow): Envelope => {
  const envelope: Envelope = {
    id: r.id,
    orgId: r.org_id,
    channelId: r.channel_id,
    subtopic: r.subtopic,
    publisher: { type: r.publisher_type as Envelope['publisher']['type'], id: r.publisher_id },
    protocol: r.protocol as IngestProtocol,
    contentType: r.content_type,
    receivedAt: r.received_at,
    // A plain Uint8Array of its own, as the port says: a Buffer is a subclass with another
    // prototype, and pg may slice Buffers from a shared pool.
    payload: new Uint8Array(r.payload),
    origin: r.origin,
  };
  if (r.senml !== null) envelope.senml = JSON.parse(r.senml) as SenmlRecord[];
  return envelope;
};

/**
 * An envelope's `messages` values in column order (id, org_id, channel_id, subtopic,
 * publisher_type, publisher_id, protocol, content_type, received_at, payload, senml, origin).
 */
export function messageValues(e: Envelope): unknown[] {
  return [
    e.id,
    e.orgId,
    e.channelId,
    e.subtopic,
    e.publisher.type,
    e.publisher.id,
    e.protocol,
    e.contentType,
    e.receivedAt,
    Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength),
    e.senml === undefined ? null : JSON.stringify(e.senml),
    e.origin,
  ];
}

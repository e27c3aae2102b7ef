/**
 * How an Envelope travels as a NATS message. The payload is the message data, raw (no base64);
 * orgId and channelId are the last two subject tokens, the id is `Nats-Msg-Id` (JetStream's
 * deduplication key), and the remaining fields are one compact JSON header:
 *
 *   Bulwark-Envelope: {"v":1,"st":subtopic,"pt":publisher.type,"pi":publisher.id,"pr":protocol,
 *                      "ct":contentType,"ra":receivedAt,"o":origin,"sm":senml and "rl":1 (ruled) only when present}
 *
 * Header values are kept to printable ASCII (non-ASCII escaped as JSON `\uXXXX`): NATS headers
 * follow RFC 822 field bodies, and JSON already escapes CR and LF, so no field can forge a header.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { Envelope, IngestProtocol, SenmlRecord } from '@bulwark/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** The header JetStream deduplicates on; it carries the envelope id. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';
/** The header carrying the envelope's remaining metadata as compact JSON. */
export const ENVELOPE_HEADER = 'Bulwark-Envelope';
/** Bumped on an incompatible change of the header's JSON, so old nodes refuse rather than guess. */
const CODEC_VERSION = 1;

const PROTOCOLS: ReadonlySet<string> = new Set<IngestProtocol>([
  'mqtt',
  'http',
  'coap',
  'ws',
  'gateway',
]);
const PUBLISHER_TYPES: ReadonlySet<string> = new Set(['device', 'api_key']);
/** A subject token we produce: no separators, wildcards or whitespace (ids are UUIDs). */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The JSON of the envelope header. */
interface Meta {
  v: number;
  st: string;
  pt: 'device' | 'api_key';
  pi: string;
  pr: IngestProtocol;
  ct: string;
  ra: number;
  o: string;
  sm?: SenmlRecord[];
  /** 1: a gateway evaluated the rules on it (Envelope.ruled). */
  rl?: 1;
}

/** A NATS message ready to publish: subject, headers and raw payload. */
export interface EncodedEnvelope {
  subject: string;
  headers: MsgHdrs;
  data: Uint8Array;
}

function malformed(detail: string): BulwarkError {
  return new BulwarkError('internal_error', `bus-nats: undecodable message: ${detail}`);
}

/** Checks a subject prefix (`bulwark.msg`): dot-separated plain tokens. */
export function assertSubjectPrefix(prefix: string): void {
  if (!prefix.split('.').every((t) => TOKEN.test(t))) {
    throw new RangeError(
      `subjectPrefix must be dot-separated [A-Za-z0-9_-] tokens, got '${prefix}'`,
    );
  }
}

/** The subject an envelope is published on: `<prefix>.<orgId>.<channelId>`. */
export function subjectOf(prefix: string, orgId: string, channelId: string): string {
  if (!TOKEN.test(orgId) || !TOKEN.test(channelId)) {
    throw new BulwarkError(
      'internal_error',
      `bus-nats: orgId and channelId must be plain subject tokens, got '${orgId}', '${channelId}'`,
    );
  }
  return `${prefix}.${orgId}.${channelId}`;
}

/** JSON with every non-ASCII code unit escaped, so the text is a valid RFC 822 field body. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Encodes an envelope as a NATS message (see the module comment for the layout). */
export function encodeEnvelope(prefix: string, e: Envelope): EncodedEnvelope {
  const meta: Meta = {
    v: CODEC_VERSION,
    st: e.subtopic,
    pt: e.publisher.type,
    pi: e.publisher.id,
    pr: e.protocol,
    ct: e.contentType,
    ra: e.receivedAt,
    o: e.origin,
  };
  if (e.senml !== undefined) meta.sm = e.senml;
  if (e.ruled) meta.rl = 1;
  const h = natsHeaders();
  h.set(MSG_ID_HEADER, e.id);
  h.set(ENVELOPE_HEADER, asciiJson(meta));
  return { subject: subjectOf(prefix, e.orgId, e.channelId), headers: h, data: e.payload };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Decodes a NATS message back into the exact Envelope; throws on anything malformed. */
export function decodeEnvelope(
  prefix: string,
  subject: string,
  h: MsgHdrs | undefined,
  data: Uint8Array,
): Envelope {
  if (!subject.startsWith(`${prefix}.`))
    throw malformed(`subject ${subject} is not under ${prefix}`);
  const tokens = subject.slice(prefix.length + 1).split('.');
  const [orgId, channelId] = tokens;
  if (tokens.length !== 2 || orgId === undefined || channelId === undefined) {
    throw malformed(`subject ${subject} is not <prefix>.<orgId>.<channelId>`);
  }
  const id = h?.get(MSG_ID_HEADER) ?? '';
  const raw = h?.get(ENVELOPE_HEADER) ?? '';
  if (id === '' || raw === '') throw malformed(`message on ${subject} lacks the Bulwark headers`);
  let m: Partial<Record<keyof Meta, unknown>>;
  try {
    m = JSON.parse(raw) as typeof m;
  } catch {
    throw malformed(`envelope header of ${id} is not JSON`);
  }
  if (typeof m !== 'object' || m === null) throw malformed(`envelope header of ${id}`);
  if (m.v !== CODEC_VERSION) throw malformed(`envelope ${id} has codec version ${String(m.v)}`);
  const { st, pt, pi, pr, ct, ra, o, sm, rl } = m;
  if (
    !isString(st) ||
    !isString(pt) ||
    !PUBLISHER_TYPES.has(pt) ||
    !isString(pi) ||
    !isString(pr) ||
    !PROTOCOLS.has(pr) ||
    !isString(ct) ||
    typeof ra !== 'number' ||
    !isString(o)
  ) {
    throw malformed(`envelope header of ${id} lacks or mistypes a field`);
  }
  if (
    sm !== undefined &&
    !(
      Array.isArray(sm) &&
      sm.every(
        (r: unknown) =>
          typeof r === 'object' &&
          r !== null &&
          isString((r as SenmlRecord).n) &&
          typeof (r as SenmlRecord).t === 'number',
      )
    )
  ) {
    throw malformed(`envelope ${id} has malformed SenML records`);
  }
  const envelope: Envelope = {
    id,
    orgId,
    channelId,
    subtopic: st,
    publisher: { type: pt as Envelope['publisher']['type'], id: pi },
    protocol: pr as IngestProtocol,
    contentType: ct,
    receivedAt: ra,
    // A copy: a plain Uint8Array that does not pin the client's receive buffer.
    payload: new Uint8Array(data),
    origin: o,
  };
  if (sm !== undefined) envelope.senml = sm as SenmlRecord[];
  if (rl === 1) envelope.ruled = true;
  return envelope;
}

/**
 * @bulwark/senml — SenML (RFC 8428) in JSON and CBOR: parse and validate a pack into resolved
 * records, and encode resolved records. Browser-safe.
 */
import { BulwarkError } from '@bulwark/protocol';
import { readCborPack, writeCborPack } from './cbor.js';
import { readJsonPack, writeJsonPack } from './json.js';
import { resolvePack } from './resolve.js';
import { checkCount, checkName, checkRecordShape, invalid, setField } from './validate.js';
import type {
  ParseSenmlOptions,
  RawRecord,
  SenmlFormat,
  SenmlLabel,
  SenmlRecord,
} from './types.js';

export type { ParseSenmlOptions, SenmlFormat, SenmlRecord } from './types.js';
export { CBOR_LABELS } from './cbor.js';
export { RELATIVE_TIME_LIMIT } from './resolve.js';
export { SENML_VERSION } from './validate.js';

/** The SenML media types, by representation (RFC 8428 §12.3). */
export const SENML_CONTENT_TYPES = {
  json: 'application/senml+json',
  cbor: 'application/senml+cbor',
} as const satisfies Record<SenmlFormat, string>;

/** The default of `ParseSenmlOptions.maxRecords`: bounds the work one message can cause. */
export const DEFAULT_MAX_RECORDS = 1000;

/** The representation a content type names, ignoring case and parameters; undefined if not SenML. */
export function senmlFormatOf(contentType: string): SenmlFormat | undefined {
  // The usual spelling first: asked for every message, without a string made for it.
  if (contentType === SENML_CONTENT_TYPES.json) return 'json';
  if (contentType === SENML_CONTENT_TYPES.cbor) return 'cbor';
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === SENML_CONTENT_TYPES.json) return 'json';
  if (mediaType === SENML_CONTENT_TYPES.cbor) return 'cbor';
  return undefined;
}

/** Whether a content type is one this package parses (`application/senml+json` or `+cbor`). */
export function isSenmlContentType(contentType: string): boolean {
  return senmlFormatOf(contentType) !== undefined;
}

/**
 * Parses, validates and resolves a SenML pack; throws `senml_invalid` naming the record and field at
 * fault, and never returns part of a pack.
 */
export function parseSenml(
  contentType: string,
  payload: Uint8Array,
  opts: ParseSenmlOptions = {},
): SenmlRecord[] {
  const format = senmlFormatOf(contentType);
  if (format === undefined) {
    throw new BulwarkError(
      'senml_invalid',
      `unsupported content type ${JSON.stringify(contentType)}: expected ${SENML_CONTENT_TYPES.json} or ${SENML_CONTENT_TYPES.cbor}`,
    );
  }
  const maxRecords = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
  const pack =
    format === 'json' ? readJsonPack(payload, maxRecords) : readCborPack(payload, maxRecords);
  return resolvePack(pack, opts.now ?? Date.now());
}

/**
 * Encodes resolved records (no base fields) as a SenML pack, refusing with `senml_invalid` any record
 * that `parseSenml` would refuse.
 */
export function encodeSenml(records: readonly SenmlRecord[], format: SenmlFormat): Uint8Array {
  checkCount(records.length, Number.POSITIVE_INFINITY);
  records.forEach((r, index) => {
    const raw: RawRecord = {};
    for (const [label, value] of Object.entries(r)) {
      if (value === undefined) continue;
      if (!RESOLVED_LABELS.has(label)) throw invalid(index, label, 'is not a resolved SenML field');
      // vd is held as base64url in both forms, so check it as JSON carries it.
      setField(raw, index, label as SenmlLabel, value, 'json');
    }
    if (checkRecordShape(raw, index) !== 'measurement') {
      throw invalid(index, undefined, 'has no value and no sum');
    }
    checkName(raw.n ?? '', index);
    if (raw.t === undefined) throw invalid(index, 't', 'is required in a resolved record');
  });
  return format === 'json' ? writeJsonPack(records) : writeCborPack(records);
}

const RESOLVED_LABELS = new Set(['n', 'u', 'v', 'vs', 'vb', 'vd', 's', 't', 'ut']);

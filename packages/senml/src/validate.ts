/** Field-level and record-level checks of RFC 8428, shared by the JSON and CBOR readers. */
import { BulwarkError } from '@bulwark/protocol';
import { fromBase64url, toBase64url } from './base64url.js';
import type { RawRecord, SenmlFormat, SenmlLabel } from './types.js';

/** The newest SenML version this package understands (RFC 8428 §4.1: the default, 10). */
export const SENML_VERSION = 10;

/** What each label holds (RFC 8428 Table 4 for JSON, Table 6 for CBOR). */
const KINDS = {
  bn: 'string',
  bt: 'number',
  bu: 'string',
  bv: 'number',
  bs: 'number',
  bver: 'version',
  n: 'string',
  u: 'string',
  v: 'number',
  vs: 'string',
  vb: 'boolean',
  vd: 'data',
  s: 'number',
  t: 'number',
  ut: 'number',
} as const satisfies Record<SenmlLabel, string>;

/** The labels of RFC 8428 Table 4, in table order. */
export const SENML_LABELS = Object.keys(KINDS) as SenmlLabel[];

const BASE_LABELS: readonly SenmlLabel[] = ['bn', 'bt', 'bu', 'bv', 'bs', 'bver'];
const VALUE_LABELS = ['v', 'vs', 'vb', 'vd'] as const;

// RFC 8428 §4.5.1: the concatenated name's alphabet and first character.
const NAME = /^[A-Za-z0-9][A-Za-z0-9:./_-]*$/;

/** Whether `label` is one of the labels of RFC 8428 Table 4. */
export function isSenmlLabel(label: string): label is SenmlLabel {
  return Object.hasOwn(KINDS, label);
}

/** The `senml_invalid` error for one record (`index` counts from 0) and, if known, one field. */
export function invalid(index: number, field: string | undefined, reason: string): BulwarkError {
  const where = field === undefined ? `records[${index}]` : `records[${index}].${field}`;
  return new BulwarkError('senml_invalid', `${where}: ${reason}`, {
    extra: field === undefined ? { record: index } : { record: index, field },
  });
}

/** The `senml_invalid` error for the pack as a whole. */
export function invalidPack(reason: string, cause?: unknown): BulwarkError {
  return new BulwarkError('senml_invalid', reason, cause === undefined ? {} : { cause });
}

/**
 * Checks one field's value against its label's type and stores it in `record`; `vd` arrives as a
 * base64url string in JSON and as a byte string in CBOR (RFC 8428 §5, §6).
 */
export function setField(
  record: RawRecord,
  index: number,
  label: SenmlLabel,
  value: unknown,
  format: SenmlFormat,
): void {
  const fail = (reason: string): BulwarkError => invalid(index, label, reason);
  switch (KINDS[label]) {
    case 'string':
      if (typeof value !== 'string') throw fail(`must be a string, got ${describe(value)}`);
      (record as Record<SenmlLabel, unknown>)[label] = value;
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail(`must be a boolean, got ${describe(value)}`);
      record.vb = value;
      return;
    case 'number':
      (record as Record<SenmlLabel, unknown>)[label] = toNumber(value, fail);
      return;
    case 'version': {
      const version = toNumber(value, fail);
      if (!Number.isInteger(version) || version < 1) {
        throw fail(`must be a positive integer (RFC 8428 §4.1), got ${version}`);
      }
      // RFC 8428 §4.4: a version newer than the one understood means the pack must not be used.
      if (version > SENML_VERSION) {
        throw fail(`version ${version} is newer than the supported version ${SENML_VERSION}`);
      }
      record.bver = version;
      return;
    }
    case 'data':
      record.vd = format === 'json' ? jsonData(value, fail) : cborData(value, fail);
      return;
  }
}

/** Refuses a pack with no records (RFC 8428 §2: "one or more") or more than the limit. */
export function checkCount(count: number, maxRecords: number): void {
  if (count === 0) throw invalidPack('a SenML pack must hold at least one record (RFC 8428 §2)');
  if (count > maxRecords) {
    throw invalidPack(`the pack holds ${count} records, more than the limit of ${maxRecords}`);
  }
}

/** Refuses an unrecognised label ending in "_" (RFC 8428 §4.4, "must understand"); others are ignored. */
export function checkUnknownLabel(index: number, label: string): void {
  if (label.endsWith('_')) {
    throw invalid(index, label, 'is a must-understand field (ends in "_") that is not supported');
  }
}

/**
 * Classifies a type-checked record: 'base' when it holds base fields only (they apply to the records
 * after it, RFC 8428 §4.1), 'measurement' when it holds exactly one value or a sum (§4.2).
 */
export function checkRecordShape(record: RawRecord, index: number): 'base' | 'measurement' {
  const values = VALUE_LABELS.filter((l) => record[l] !== undefined);
  if (values.length > 1) {
    throw invalid(
      index,
      undefined,
      `has ${values.join(' and ')}; at most one value field is allowed`,
    );
  }
  if (values.length === 1 || record.s !== undefined) return 'measurement';
  const labels = Object.keys(record) as SenmlLabel[];
  if (labels.length > 0 && labels.every((l) => BASE_LABELS.includes(l))) return 'base';
  throw invalid(index, undefined, 'has no value (v, vs, vb or vd) and no sum (s)');
}

/** Checks a concatenated name (RFC 8428 §4.5.1). */
export function checkName(name: string, index: number): void {
  if (name === '') throw invalid(index, 'n', 'name is empty (no "bn" in effect and no "n")');
  if (!NAME.test(name)) {
    throw invalid(
      index,
      'n',
      `name ${JSON.stringify(name)} must start with A-Z, a-z or 0-9 and hold only those and ": . / _ -"`,
    );
  }
}

/** Adds a base to a value, refusing a sum that overflows to infinity. */
export function addFinite(base: number, value: number, index: number, label: string): number {
  const sum = base + value;
  if (!Number.isFinite(sum)) throw invalid(index, label, 'plus its base value is not finite');
  return sum;
}

function toNumber(value: unknown, fail: (reason: string) => BulwarkError): number {
  // CBOR integers beyond 2^53 and bignums decode as bigint; they are still numbers (RFC 8949 §3.4.3).
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number') throw fail(`must be a number, got ${describe(value)}`);
  if (!Number.isFinite(n)) throw fail(`must be a finite number, got ${n}`);
  return n;
}

function jsonData(value: unknown, fail: (reason: string) => BulwarkError): string {
  if (typeof value !== 'string') throw fail(`must be a base64url string, got ${describe(value)}`);
  if (fromBase64url(value) === undefined) {
    throw fail('must be unpadded base64url (RFC 4648 §5, RFC 8428 §5)');
  }
  return value;
}

function cborData(value: unknown, fail: (reason: string) => BulwarkError): string {
  if (!(value instanceof Uint8Array)) throw fail(`must be a byte string, got ${describe(value)}`);
  return toBase64url(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a byte string';
  if (value instanceof Map) return 'a map';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${value}`;
  }
  return typeof value;
}

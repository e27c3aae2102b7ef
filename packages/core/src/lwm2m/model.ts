/**
 * The resource types of the objects the server reads without asking (TLV values carry no type):
 * Server /1 and Device /3 from OMA-TS-LightweightM2M-V1_1 Core Appendix E. Unknown resources are
 * guessed (`guessType`); formats that carry types (SenML JSON, LwM2M JSON) need none of this.
 */
import type { Lwm2mType } from './tlv.js';

const SERVER: Record<number, Lwm2mType> = {
  0: 'integer',
  1: 'integer',
  2: 'integer',
  3: 'integer',
  5: 'integer',
  6: 'boolean',
  7: 'string',
  10: 'integer',
  11: 'integer',
  12: 'integer',
  13: 'integer',
  14: 'integer',
  15: 'integer',
  16: 'boolean',
  17: 'integer',
  18: 'integer',
  19: 'integer',
  20: 'integer',
  21: 'integer',
  22: 'string',
  23: 'boolean',
};
const DEVICE: Record<number, Lwm2mType> = {
  0: 'string',
  1: 'string',
  2: 'string',
  3: 'string',
  6: 'integer',
  7: 'integer',
  8: 'integer',
  9: 'integer',
  10: 'integer',
  11: 'integer',
  13: 'time',
  14: 'string',
  15: 'string',
  16: 'string',
  17: 'string',
  18: 'string',
  19: 'string',
  20: 'integer',
  21: 'integer',
  22: 'string',
};
const MODEL: Record<number, Record<number, Lwm2mType>> = { 1: SERVER, 3: DEVICE };

/** The type of /object/x/resource when the server knows it. */
export function resourceType(objectId: number, resourceId: number): Lwm2mType | undefined {
  return MODEL[objectId]?.[resourceId];
}

/** For an unknown resource: printable UTF-8 is a string, 1/2/4/8 bytes an integer, else opaque. */
export function guessType(b: Uint8Array): Lwm2mType {
  const s = Buffer.from(b).toString('utf8');
  if (b.length > 0 && !s.includes('\uFFFD') && /^[\x20-\x7e\u00a0-\uffff]*$/.test(s))
    return 'string';
  return [1, 2, 4, 8].includes(b.length) ? 'integer' : 'opaque';
}

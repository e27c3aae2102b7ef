/** DTLS records (RFC 6347 §4.1): several per datagram, each with its epoch and sequence number. */
import { RECORD_HEADER } from './constants.js';

/** One record as received (the fragment still protected when epoch > 0). */
export interface DtlsRecord {
  type: number;
  version: number;
  epoch: number;
  seq: number;
  fragment: Buffer;
}

/** Largest record fragment (RFC 6347 §4.1: 2^14 plus the expansion of the cipher, RFC 5246 §6.2.3). */
export const MAX_FRAGMENT = 16384 + 2048;

/**
 * The records of a datagram; stops at the first that does not fit (RFC 6347 §4.1.2.7: invalid
 * records are discarded — what came before them is kept).
 */
export function parseRecords(d: Buffer): DtlsRecord[] {
  const out: DtlsRecord[] = [];
  let i = 0;
  while (i + RECORD_HEADER <= d.length) {
    const length = d.readUInt16BE(i + 11);
    if (length > MAX_FRAGMENT || i + RECORD_HEADER + length > d.length) break;
    out.push({
      type: d[i]!,
      version: d.readUInt16BE(i + 1),
      epoch: d.readUInt16BE(i + 3),
      seq: d.readUIntBE(i + 5, 6),
      fragment: d.subarray(i + RECORD_HEADER, i + RECORD_HEADER + length),
    });
    i += RECORD_HEADER + length;
  }
  return out;
}

/** Encodes one record. */
export function encodeRecord(r: DtlsRecord): Buffer {
  const b = Buffer.alloc(RECORD_HEADER + r.fragment.length);
  b[0] = r.type;
  b.writeUInt16BE(r.version, 1);
  b.writeUInt16BE(r.epoch, 3);
  b.writeUIntBE(r.seq, 5, 6);
  b.writeUInt16BE(r.fragment.length, 11);
  r.fragment.copy(b, RECORD_HEADER);
  return b;
}

/** The most bytes of a flight's datagram: under IPv6's minimum MTU, 1280, less its headers. */
export const FLIGHT_DATAGRAM = 1200;

/**
 * Packs a flight's records into as few datagrams of at most `max` bytes as fit, on record
 * boundaries (RFC 6347 §4.1.1: a record never spans datagrams; a larger record goes alone): a
 * certificate flight exceeds one Ethernet MTU, and IP fragments are often dropped on the way.
 */
export function packDatagrams(records: readonly Buffer[], max = FLIGHT_DATAGRAM): Buffer[] {
  const datagrams: Buffer[][] = [];
  let size = Infinity;
  for (const r of records) {
    if (size + r.length > max) {
      datagrams.push([]);
      size = 0;
    }
    datagrams[datagrams.length - 1]!.push(r);
    size += r.length;
  }
  return datagrams.map((d) => Buffer.concat(d));
}

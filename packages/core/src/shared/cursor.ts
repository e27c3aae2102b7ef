import { Buffer } from 'node:buffer';
import { BulwarkError } from '@bulwark/protocol';
import { isId } from './ids.js';

/** Encodes the last id of a page as an opaque cursor. */
export function encodeIdCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** Decodes an id cursor, or throws BulwarkError `invalid_cursor` when it is not one of ours. */
export function decodeIdCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Re-encoding must give the same text: base64url decoding alone is lenient about junk.
  if (!isId(id) || encodeIdCursor(id) !== cursor) throw new BulwarkError('invalid_cursor');
  return id;
}

/** Encodes an audit sequence number as an opaque cursor. */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`s${seq}`, 'utf8').toString('base64url');
}

/** Decodes an audit cursor, or throws BulwarkError `invalid_cursor`. */
export function decodeSeqCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s([1-9][0-9]{0,15})$/.exec(text);
  if (m?.[1] === undefined || encodeSeqCursor(Number(m[1])) !== cursor) {
    throw new BulwarkError('invalid_cursor');
  }
  return Number(m[1]);
}

/** A page size the database can use: at least one row (core validates the upper bound). */
export function pageSize(limit: number): number {
  return Math.max(1, Math.floor(limit));
}
/** Position of a message in a channel's (received_at, id) order: the key of its cursor. */
export interface MessagePosition {
  receivedAt: number;
  id: string;
}

/**
 * Encodes the last message of a page as an opaque cursor. Messages are ordered by acceptance time
 * and then id: ids alone are not enough, since several hub nodes mint them with their own clocks.
 */
export function encodeMessageCursor(p: MessagePosition): string {
  return Buffer.from(`m${p.receivedAt}.${p.id}`, 'utf8').toString('base64url');
}

const MESSAGE_CURSOR = /^m(0|-?[1-9][0-9]{0,15})\.(.+)$/;

/** Decodes a message cursor, or throws BulwarkError `invalid_cursor` when it is not one of ours. */
export function decodeMessageCursor(cursor: string): MessagePosition {
  const m = MESSAGE_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const receivedAt = Number(m?.[1]);
  const id = m?.[2] ?? '';
  // Re-encoding must give the same text: base64url decoding alone is lenient about junk.
  if (
    !Number.isSafeInteger(receivedAt) ||
    !isId(id) ||
    encodeMessageCursor({ receivedAt, id }) !== cursor
  ) {
    throw new BulwarkError('invalid_cursor');
  }
  return { receivedAt, id };
}

/** Encodes a position in a sorted device window (`GET /devices?sort=…`) as an opaque cursor. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`o${offset}`, 'utf8').toString('base64url');
}

/** Decodes a window cursor, or throws BulwarkError `invalid_cursor` (an id cursor is not one). */
export function decodeOffsetCursor(cursor: string): number {
  const m = /^o(0|[1-9][0-9]{0,8})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (m?.[1] === undefined || encodeOffsetCursor(Number(m[1])) !== cursor) {
    throw new BulwarkError('invalid_cursor');
  }
  return Number(m[1]);
}

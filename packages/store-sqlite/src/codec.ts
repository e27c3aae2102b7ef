/** Pagination cursors are part of core's Page contract; both SQL adapters share its codec. */
export {
  decodeIdCursor,
  decodeSeqCursor,
  encodeIdCursor,
  encodeSeqCursor,
  pageSize,
  encodeMessageCursor,
  decodeMessageCursor,
  type MessagePosition,
} from '@bulwark/core';

/** Parses a JSON array of strings stored as TEXT. */
export function parseStrings(text: string): string[] {
  return JSON.parse(text) as string[];
}

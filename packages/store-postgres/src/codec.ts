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

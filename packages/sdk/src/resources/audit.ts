import { paginate } from '../paginate.js';
import type { Call, QueryOf } from '../types.js';

/** The organization's audit trail. */
export function auditApi(call: Call) {
  return {
    /** The hash chain's verification: intact, or where it first breaks (cached a minute). */
    verify: () => call('verifyAudit'),
    /** One page of audit events, newest first. */
    list: (query: QueryOf<'listAudit'> = {}) => call('listAudit', { query }),
    /** Every matching audit event, following `nextCursor` page by page. */
    all: (query: QueryOf<'listAudit'> = {}) =>
      paginate((cursor) => call('listAudit', { query: { ...query, cursor } })),
  };
}

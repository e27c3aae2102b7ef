import { paginate } from '../paginate.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

/** Fleet audit checks (decision 0031): run them, read findings, suppress and unsuppress. */
export function checksApi(call: Call) {
  return {
    /** Runs every check on the organization now; returns what the run found. */
    run: () => call('runChecks', { body: {} }),
    /** One page of findings, newest first (suppressed ones are listed, marked). */
    list: (query: QueryOf<'listFindings'> = {}) => call('listFindings', { query }),
    /** Every matching finding, following `nextCursor` page by page. */
    all: (query: QueryOf<'listFindings'> = {}) =>
      paginate((cursor) => call('listFindings', { query: { ...query, cursor } })),
    /** One finding. */
    get: (id: string) => call('getFinding', { params: { id } }),
    /** Suppresses a check's findings (of one `type:id` resource, when given) until it expires. */
    suppress: (body: BodyOf<'createSuppression'>) => call('createSuppression', { body }),
    /** The suppressions that have not expired. */
    suppressions: () => call('listSuppressions'),
    /** Ends a suppression now. */
    unsuppress: (id: string) => call('deleteSuppression', { params: { id } }),
  };
}

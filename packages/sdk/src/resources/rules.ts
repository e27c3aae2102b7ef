import { paginate } from '../paginate.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

/** Rules on telemetry (decision 0035): conditions on SenML records that act on the device. */
export function rulesApi(call: Call) {
  return {
    /** One page of the organization's rules, in creation order. */
    list: (query: QueryOf<'listRules'> = {}) => call('listRules', { query }),
    /** Every rule, following `nextCursor` page by page. */
    all: (query: QueryOf<'listRules'> = {}) =>
      paginate((cursor) => call('listRules', { query: { ...query, cursor } })),
    /** One rule. */
    get: (id: string) => call('getRule', { params: { id } }),
    /** Creates a rule (checked as a whole; a `rule_invalid` error names the bad field). */
    create: (body: BodyOf<'createRule'>) => call('createRule', { body }),
    /** Changes fields of a rule; its evaluation starts afresh. */
    update: (id: string, body: BodyOf<'updateRule'>) =>
      call('updateRule', { params: { id }, body }),
    delete: (id: string) => call('deleteRule', { params: { id } }),
    enable: (id: string) => call('enableRule', { params: { id }, body: {} }),
    disable: (id: string) => call('disableRule', { params: { id }, body: {} }),
    /** Evaluates a stored rule or a draft against a SenML pack, without side effects. */
    test: (body: BodyOf<'testRule'>) => call('testRule', { body }),
  };
}

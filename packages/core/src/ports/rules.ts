/**
 * Rules on telemetry (decision 0035): the stored rule and its store. The definition (condition,
 * scope, actions) is one JSON document; the store neither reads nor checks it.
 */
import type { RuleAction, RuleCondition, RuleScope } from '@bulwark/protocol';
import type { Page, PageRequest } from './records.js';

/** What a rule says, apart from its identity and bookkeeping. */
export interface RuleDefinition {
  /** Full SenML record name the rule watches. */
  record: string;
  condition: RuleCondition;
  /** How long the condition must hold before the rule fires, s. */
  forSeconds: number;
  scope: RuleScope;
  actions: RuleAction[];
}

/** One stored rule of an organization. */
export interface RuleRecord extends RuleDefinition {
  id: string;
  orgId: string;
  name: string;
  description: string;
  enabled: boolean;
  /** The principal that created it (user or API key id). */
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The fields of a rule that may change. */
export type RulePatch = Partial<
  Pick<
    RuleRecord,
    | 'name'
    | 'description'
    | 'enabled'
    | 'record'
    | 'condition'
    | 'forSeconds'
    | 'scope'
    | 'actions'
    | 'updatedAt'
  >
>;

export interface RuleStore {
  create(rule: RuleRecord): Promise<void>;
  /** One rule; undefined for another organization's. */
  get(orgId: string, id: string): Promise<RuleRecord | undefined>;
  /** The organization's rules in id (creation) order. */
  list(orgId: string, page: PageRequest): Promise<Page<RuleRecord>>;
  /** How many rules the organization has. */
  count(orgId: string): Promise<number>;
  /** Applies the patch; undefined when there is no such rule in the organization. */
  update(orgId: string, id: string, patch: RulePatch): Promise<RuleRecord | undefined>;
  delete(orgId: string, id: string): Promise<boolean>;
  /** Every enabled rule of one organization, or of all when `orgId` is undefined (evaluator). */
  listEnabled(orgId?: string): Promise<RuleRecord[]>;
}

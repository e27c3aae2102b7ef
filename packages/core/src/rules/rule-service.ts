/**
 * Rules on telemetry (decision 0035): create, read, change, enable, disable and delete an
 * organization's rules, each checked as a whole before it is saved, and a dry run against a sample
 * SenML pack. A change reaches this node's evaluator before the call returns (`onChange`) and the
 * other nodes through the `rule.changed` domain event. The REST layer audits every change.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  RULE_MAX_PER_ORG,
  type CreateRuleRequest,
  type TestRuleRequest,
  type TestRuleResult,
  type UpdateRuleRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { SenmlRecord } from '../ports/messaging.js';
import type { Page, PageRequest } from '../ports/records.js';
import type { RuleDefinition, RuleRecord } from '../ports/rules.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import { compileCondition, recordValue } from './condition.js';
import { checkRuleWebhookEndpoint } from '../notifications/rule-webhook.js';
import { checkRuleDefinition, ruleInvalid } from './validate.js';

/**
 * The permission a webhook action needs of whoever saves the rule: it sends the organization's
 * telemetry to a receiver outside, which is what `notifications:manage` decides (decision 0030).
 */
export const RULE_WEBHOOK_PERMISSION = 'notifications:manage';

/** Who saves a rule: their permissions (a webhook action needs RULE_WEBHOOK_PERMISSION). */
export interface RuleEditor {
  permissions: readonly string[];
}

/** Dependencies of RuleService. */
export interface RuleServiceDeps {
  storage: Pick<Storage, 'rules' | 'channels' | 'devices' | 'locations' | 'notifications'>;
  clock: Clock;
  events?: DomainEvents;
  /**
   * Parses a SenML JSON pack into resolved records (the test endpoint), `now` in epoch ms for
   * records without a time; throws senml_invalid.
   */
  parseSenml: (payload: Uint8Array, now: number) => SenmlRecord[];
  /** Told of every change of an organization's rules; awaited (this node's evaluator reloads). */
  onChange?: (orgId: string) => Promise<void>;
  /** Most rules per organization (default RULE_MAX_PER_ORG). */
  maxPerOrg?: number;
}

const notFound = () => new BulwarkError('not_found', 'no such rule in this organization');

/** The rules of organizations. */
export class RuleService {
  constructor(private readonly d: RuleServiceDeps) {}

  async create(
    orgId: string,
    createdBy: string | null,
    req: CreateRuleRequest,
    editor?: RuleEditor,
  ): Promise<RuleRecord> {
    const def = definitionOf(req);
    await this.#check(orgId, def, editor);
    const max = this.d.maxPerOrg ?? RULE_MAX_PER_ORG;
    if ((await this.d.storage.rules.count(orgId)) >= max)
      throw new BulwarkError('rule_limit', `an organization may have at most ${max} rules`, {
        extra: { limit: max },
      });
    const now = this.d.clock.now();
    const rule: RuleRecord = {
      ...def,
      id: newId(now),
      orgId,
      name: req.name,
      description: req.description ?? '',
      enabled: req.enabled ?? true,
      createdBy,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.storage.rules.create(rule);
    await this.#changed(orgId, rule.id);
    return rule;
  }

  /** One rule; not_found for another organization's. */
  async get(orgId: string, id: string): Promise<RuleRecord> {
    const r = await this.d.storage.rules.get(orgId, id);
    if (!r) throw notFound();
    return r;
  }

  list(orgId: string, page: PageRequest): Promise<Page<RuleRecord>> {
    return this.d.storage.rules.list(orgId, page);
  }

  /** Changes fields; the rule as changed is checked as a whole, and starts afresh. */
  async update(
    orgId: string,
    id: string,
    req: UpdateRuleRequest,
    editor?: RuleEditor,
  ): Promise<RuleRecord> {
    const cur = await this.get(orgId, id);
    const def: RuleDefinition = {
      record: req.record ?? cur.record,
      condition: req.condition ?? cur.condition,
      forSeconds: req.forSeconds ?? cur.forSeconds,
      scope: req.scope ?? cur.scope,
      actions: req.actions ?? cur.actions,
    };
    await this.#check(orgId, def, req.actions !== undefined ? editor : undefined);
    const updated = await this.d.storage.rules.update(orgId, id, {
      ...def,
      ...(req.name !== undefined ? { name: req.name } : {}),
      ...(req.description !== undefined ? { description: req.description } : {}),
      ...(req.enabled !== undefined ? { enabled: req.enabled } : {}),
      updatedAt: Math.max(this.d.clock.now(), cur.updatedAt + 1),
    });
    if (!updated) throw notFound();
    await this.#changed(orgId, id);
    return updated;
  }

  /** Starts or stops evaluating a rule. */
  async setEnabled(orgId: string, id: string, enabled: boolean): Promise<RuleRecord> {
    const cur = await this.get(orgId, id);
    if (cur.enabled === enabled) return cur;
    const updated = await this.d.storage.rules.update(orgId, id, {
      enabled,
      updatedAt: Math.max(this.d.clock.now(), cur.updatedAt + 1),
    });
    if (!updated) throw notFound();
    await this.#changed(orgId, id);
    return updated;
  }

  async delete(orgId: string, id: string): Promise<RuleRecord> {
    const cur = await this.get(orgId, id);
    if (!(await this.d.storage.rules.delete(orgId, id))) throw notFound();
    await this.#changed(orgId, id);
    return cur;
  }

  /**
   * A dry run: the rule's condition and duration over the pack's records of its name, in order,
   * with each record's own time standing in for its arrival. Nothing is stored or sent.
   */
  async test(orgId: string, req: TestRuleRequest): Promise<TestRuleResult> {
    let def: RuleDefinition;
    if (req.ruleId !== undefined && req.rule !== undefined)
      throw ruleInvalid('ruleId', 'give a stored rule (ruleId) or a draft (rule), not both');
    if (req.ruleId !== undefined) def = await this.get(orgId, req.ruleId);
    else if (req.rule !== undefined) {
      def = definitionOf(req.rule);
      await this.#check(orgId, def);
    } else throw ruleInvalid('rule', 'give a stored rule (ruleId) or a draft (rule)');
    const now = this.d.clock.now();
    const records = this.d.parseSenml(Buffer.from(JSON.stringify(req.senml)), now);
    const holds = compileCondition(def.condition);
    const out: TestRuleResult['records'] = [];
    let since: number | null = null;
    let fired = false;
    let any = false;
    for (const r of records) {
      if (r.n !== def.record) continue;
      const value = recordValue(r);
      const h = value === undefined ? undefined : holds(value);
      let fires = false;
      if (h === true) {
        since ??= r.t;
        if (!fired && (r.t - since) * 1000 >= def.forSeconds * 1000) fired = fires = true;
      } else if (h === false) {
        since = null;
        fired = false;
      }
      any ||= fires;
      out.push({ t: r.t, value: value ?? null, holds: h === true, fires });
    }
    return { records: out, fired: any, actions: def.actions };
  }

  /** The meaning checks, then the scope's references belong to the organization. */
  async #check(orgId: string, def: RuleDefinition, editor?: RuleEditor): Promise<void> {
    checkRuleDefinition(def);
    for (const [i, a] of def.actions.entries()) {
      if (a.type !== 'webhook') continue;
      if (editor !== undefined && !editor.permissions.includes(RULE_WEBHOOK_PERMISSION))
        throw new BulwarkError(
          'forbidden',
          `a webhook action needs the ${RULE_WEBHOOK_PERMISSION} permission`,
        );
      const why = await checkRuleWebhookEndpoint(this.d.storage.notifications, orgId, a.endpointId);
      if (why !== null) throw ruleInvalid(`actions[${i}].endpointId`, why);
    }
    const s = def.scope;
    if (s.channelId !== undefined && !(await this.d.storage.channels.get(orgId, s.channelId)))
      throw ruleInvalid('scope.channelId', 'no such channel in this organization');
    if (s.deviceId !== undefined && !(await this.d.storage.devices.get(orgId, s.deviceId)))
      throw ruleInvalid('scope.deviceId', 'no such device in this organization');
    if (s.location !== undefined && !(await this.d.storage.locations.get(orgId, s.location)))
      throw ruleInvalid('scope.location', 'no such location in this organization');
  }

  async #changed(orgId: string, ruleId: string): Promise<void> {
    await this.d.onChange?.(orgId);
    this.d.events?.emit({ type: 'rule.changed', orgId, at: this.d.clock.now(), ruleId });
  }
}

/** The definition a create request gives, with the defaults. */
function definitionOf(req: CreateRuleRequest): RuleDefinition {
  return {
    record: req.record,
    condition: req.condition,
    forSeconds: req.forSeconds ?? 0,
    scope: req.scope ?? {},
    actions: req.actions,
  };
}

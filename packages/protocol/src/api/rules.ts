/**
 * Rules on telemetry (decision 0035): a condition on one SenML record name, held for a duration,
 * within a scope of the organization's devices and channels, that raises an alert, sends a
 * command or changes the desired twin. The schemas give the shape; the rule service checks the
 * meaning (condition operands, twin paths, the organization's own devices and channels) with a
 * `rule_invalid` error that names the field.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, PageQuery, Timestamp } from './common.js';
import { RULE_MAX_ACTIONS, RULE_MAX_FOR_SECONDS, RULE_OPS } from './enums.js';

export { RULE_MAX_ACTIONS, RULE_MAX_FOR_SECONDS, RULE_OPS };
export { RULE_ACTION_TYPES, RULE_MAX_PER_ORG } from './enums.js';

/**
 * A number, a string (≤ 200 characters) or a boolean, checked by the rule service: as a schema
 * union, the validator's type coercion would turn the string "3" into the number 3 (or 3 into
 * "3") before any branch is chosen, silently changing what `eq` compares.
 */
const Operand = Type.Unknown({
  description: 'A number, a string (at most 200 characters) or a boolean.',
});

/** What must be true of the record's value. */
export const RuleConditionSchema = Type.Object(
  {
    op: Type.Union(RULE_OPS.map((o) => Type.Literal(o))),
    value: Type.Optional(Operand),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type RuleCondition = Static<typeof RuleConditionSchema>;

const Tag = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$' });

/** Which messages a rule looks at: every field given must match (none: every device). */
export const RuleScopeSchema = Type.Object(
  {
    channelId: Type.Optional(Id),
    deviceId: Type.Optional(Id),
    type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })),
    tag: Type.Optional(Tag),
    location: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type RuleScope = Static<typeof RuleScopeSchema>;

const CommandName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9._-]{0,63}$' });
const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** One thing a rule does when it fires, on the device whose message made it fire. */
export const RuleActionSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('alert'),
      /** Resolve the device's telemetry-rule alert when the condition clears (default false). */
      resolveOnClear: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('command'),
      name: CommandName,
      params: Type.Optional(JsonObject),
      timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('twin'),
      /** A dotted path into the desired state, e.g. `cooling.mode`. */
      path: Type.String({ minLength: 1, maxLength: 256 }),
      value: Type.Unknown(),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('webhook'),
      /** A webhook notification endpoint of the organization (signed, retried, dead-lettered). */
      endpointId: Id,
    },
    {
      additionalProperties: false,
      description:
        'Queue a signed `rule.fired` delivery to a webhook notification endpoint (needs notifications:manage to set).',
    },
  ),
]);
export type RuleAction = Static<typeof RuleActionSchema>;

const RuleName = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 2000 });
const RecordName = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'The full SenML record name (base name + name), e.g. `urn:dev:x:temp` or `temp`.',
});
const ForSeconds = Type.Integer({
  minimum: 0,
  maximum: RULE_MAX_FOR_SECONDS,
  description: 'How long the condition must hold before the rule fires (0: at once).',
});
const Actions = Type.Array(RuleActionSchema, { minItems: 1, maxItems: RULE_MAX_ACTIONS });

/** A rule as the API shows it. */
export const RuleSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    description: Type.String(),
    enabled: Type.Boolean(),
    record: Type.String(),
    condition: RuleConditionSchema,
    forSeconds: Type.Integer(),
    scope: RuleScopeSchema,
    actions: Type.Array(RuleActionSchema),
    createdBy: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type RuleView = Static<typeof RuleSchema>;

export const CreateRuleRequest = Type.Object(
  {
    name: RuleName,
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean()),
    record: RecordName,
    condition: RuleConditionSchema,
    forSeconds: Type.Optional(ForSeconds),
    scope: Type.Optional(RuleScopeSchema),
    actions: Actions,
  },
  { additionalProperties: false },
);
export type CreateRuleRequest = Static<typeof CreateRuleRequest>;

/** Fields to change; the rule as changed is checked as a whole. */
export const UpdateRuleRequest = Type.Object(
  {
    name: Type.Optional(RuleName),
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean()),
    record: Type.Optional(RecordName),
    condition: Type.Optional(RuleConditionSchema),
    forSeconds: Type.Optional(ForSeconds),
    scope: Type.Optional(RuleScopeSchema),
    actions: Type.Optional(Actions),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRuleRequest = Static<typeof UpdateRuleRequest>;

export const RuleListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type RuleListQuery = Static<typeof RuleListQuery>;

/**
 * A dry run: a stored rule (`ruleId`) or a draft (`rule`) against a sample SenML pack, with the
 * records' own times standing in for arrival times. Nothing is stored, sent or audited.
 */
export const TestRuleRequest = Type.Object(
  {
    ruleId: Type.Optional(Id),
    rule: Type.Optional(CreateRuleRequest),
    senml: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      minItems: 1,
      maxItems: 1000,
      description: 'A SenML JSON pack (RFC 8428), as a device would send it.',
    }),
  },
  { additionalProperties: false },
);
export type TestRuleRequest = Static<typeof TestRuleRequest>;

export const TestRuleResultSchema = Type.Object(
  {
    /** The pack's records of the rule's name, in order, with whether the condition held. */
    records: Type.Array(
      Type.Object(
        {
          t: Type.Number(),
          value: Nullable(Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
          holds: Type.Boolean(),
          fires: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
    fired: Type.Boolean(),
    /** The actions the rule would take on each firing. */
    actions: Type.Array(RuleActionSchema),
  },
  { additionalProperties: false },
);
export type TestRuleResult = Static<typeof TestRuleResultSchema>;

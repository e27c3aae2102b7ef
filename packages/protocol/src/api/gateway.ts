import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';
import { RuleActionSchema, RuleConditionSchema, RuleScopeSchema } from './rules.js';

const Pem = Type.String({ minLength: 1, maxLength: 262144 });

/** A device's channel right, as a gateway enforces it locally. */
export const GatewayChannelRightSchema = Type.Object(
  { channelId: Id, publish: Type.Boolean(), subscribe: Type.Boolean() },
  { additionalProperties: false },
);

/** One device a gateway may speak for (decision 0040). */
export const GatewaySiteDeviceSchema = Type.Object(
  {
    id: Id,
    state: Type.String(),
    /** Serials of its certificates that are neither revoked nor retired. */
    serials: Type.Array(Type.String()),
    channels: Type.Array(GatewayChannelRightSchema),
  },
  { additionalProperties: false },
);
export type GatewaySiteDevice = Static<typeof GatewaySiteDeviceSchema>;

/**
 * An enabled rule on telemetry (decision 0035) whose scope takes at least one site device, as the
 * gateway evaluates it while the site's messages pass through it (decision 0040, amendment "local
 * operation"). For a type/tag/location scope, `devices` are the site devices it takes, resolved
 * by the hub (the gateway holds no device types, tags or locations); absent otherwise. The channel
 * and device parts of the scope are checked per message.
 */
export const GatewayRuleSchema = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    record: Type.String({ minLength: 1, maxLength: 256 }),
    condition: RuleConditionSchema,
    forSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
    scope: RuleScopeSchema,
    actions: Type.Array(RuleActionSchema, { maxItems: 5 }),
    /** Epoch ms of the rule's last change (a changed rule starts afresh, as on the hub). */
    updatedAt: Type.Integer({ minimum: 0 }),
    devices: Type.Optional(Type.Array(Id)),
  },
  { additionalProperties: false },
);
export type GatewayRule = Static<typeof GatewayRuleSchema>;

/**
 * What a gateway needs to admit its site's devices offline: the organization's CAs and CRL, and
 * the devices it may speak for with their live certificate serials and channel rights.
 */
export const GatewaySiteSchema = Type.Object(
  {
    orgId: Id,
    gatewayId: Id,
    /** The site (location of kind `site`) the gateway sits in, if any. */
    siteId: Nullable(Id),
    root: Pem,
    issuing: Pem,
    crl: Pem,
    devices: Type.Array(GatewaySiteDeviceSchema),
    /** The rules the gateway evaluates (absent from a hub that predates them: none are). */
    rules: Type.Optional(Type.Array(GatewayRuleSchema, { maxItems: 200 })),
    generatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type GatewaySiteView = Static<typeof GatewaySiteSchema>;

/**
 * Notification endpoints, routing rules and deliveries over REST (issue 14, decision 0030). An
 * endpoint's secrets (a webhook's URL and signing secret, an SMTP password) are write-only: the
 * API never returns them, only whether they are set.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, PageQuery, Timestamp } from './common.js';
import { AlertKindSchema, AlertSeveritySchema } from './alerts.js';
import { JsonObject } from './management.js';

const Pem = Type.String({ maxLength: 65_536, description: 'CA certificates (PEM) to trust.' });
const EmailAddress = Type.String({ format: 'email', maxLength: 254 });
const HostName = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:\\[\\]-]+$' });
const Secret = Type.String({ minLength: 16, maxLength: 256 });
const WebhookFormatSchema = Type.Union([Type.Literal('json'), Type.Literal('slack')]);
const SmtpSecuritySchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('starttls'),
  Type.Literal('tls'),
]);
const WebhookUrl = Type.String({ minLength: 9, maxLength: 2048, description: 'An https:// URL.' });

export const CreateWebhookEndpoint = Type.Object(
  {
    kind: Type.Literal('webhook'),
    name: Name,
    enabled: Type.Optional(Type.Boolean()),
    url: WebhookUrl,
    secret: Secret,
    format: Type.Optional(WebhookFormatSchema),
    caPem: Type.Optional(Nullable(Pem)),
  },
  { additionalProperties: false },
);
export const CreateEmailEndpoint = Type.Object(
  {
    kind: Type.Literal('email'),
    name: Name,
    enabled: Type.Optional(Type.Boolean()),
    host: HostName,
    port: Type.Integer({ minimum: 1, maximum: 65_535 }),
    security: SmtpSecuritySchema,
    username: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 254 }))),
    password: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024 }))),
    from: EmailAddress,
    to: Type.Array(EmailAddress, { minItems: 1, maxItems: 20 }),
    caPem: Type.Optional(Nullable(Pem)),
  },
  { additionalProperties: false },
);
export const CreateEndpointRequest = Type.Union([CreateWebhookEndpoint, CreateEmailEndpoint]);
export type CreateEndpointRequest = Static<typeof CreateEndpointRequest>;

/** Only the fields given change; a field of the other kind is refused. */
export const UpdateEndpointRequest = Type.Object(
  {
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean()),
    url: Type.Optional(WebhookUrl),
    secret: Type.Optional(Secret),
    format: Type.Optional(WebhookFormatSchema),
    caPem: Type.Optional(Nullable(Pem)),
    host: Type.Optional(HostName),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    security: Type.Optional(SmtpSecuritySchema),
    username: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 254 }))),
    password: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1024 }))),
    from: Type.Optional(EmailAddress),
    to: Type.Optional(Type.Array(EmailAddress, { minItems: 1, maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type UpdateEndpointRequest = Static<typeof UpdateEndpointRequest>;

export const EndpointSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
    enabled: Type.Boolean(),
    webhook: Nullable(
      Type.Object(
        {
          format: WebhookFormatSchema,
          origin: Type.String({ description: "The URL's origin; the full URL is sealed." }),
          caPem: Nullable(Type.String()),
          secretSet: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
    email: Nullable(
      Type.Object(
        {
          host: Type.String(),
          port: Type.Integer(),
          security: SmtpSecuritySchema,
          username: Nullable(Type.String()),
          passwordSet: Type.Boolean(),
          from: Type.String(),
          to: Type.Array(Type.String()),
          caPem: Nullable(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    breaker: Type.Object(
      {
        state: Type.Union([
          Type.Literal('closed'),
          Type.Literal('open'),
          Type.Literal('half_open'),
        ]),
        consecutiveFailures: Type.Integer({ minimum: 0 }),
        openUntil: Nullable(Timestamp),
      },
      { additionalProperties: false },
    ),
    lastSuccessAt: Nullable(Timestamp),
    lastFailureAt: Nullable(Timestamp),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type EndpointView = Static<typeof EndpointSchema>;

const Escalation = Type.Object(
  {
    afterMinutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
    endpointIds: Type.Array(Id, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);

export const CreateNotificationRuleRequest = Type.Object(
  {
    name: Name,
    enabled: Type.Optional(Type.Boolean()),
    /** Devices there and in every location below; null or absent: the whole organization. */
    locationId: Type.Optional(Nullable(Id)),
    minSeverity: Type.Optional(AlertSeveritySchema),
    kinds: Type.Optional(Type.Array(AlertKindSchema, { maxItems: 50 })),
    endpointIds: Type.Array(Id, { minItems: 1, maxItems: 20 }),
    notifyResolved: Type.Optional(Type.Boolean()),
    escalation: Type.Optional(Nullable(Escalation)),
  },
  { additionalProperties: false },
);
export type CreateNotificationRuleRequest = Static<typeof CreateNotificationRuleRequest>;

export const UpdateNotificationRuleRequest = Type.Partial(CreateNotificationRuleRequest, {
  additionalProperties: false,
});
export type UpdateNotificationRuleRequest = Static<typeof UpdateNotificationRuleRequest>;

export const NotificationRuleSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    enabled: Type.Boolean(),
    locationId: Nullable(Id),
    minSeverity: AlertSeveritySchema,
    kinds: Type.Array(Type.String()),
    endpointIds: Type.Array(Id),
    notifyResolved: Type.Boolean(),
    escalation: Nullable(Escalation),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type NotificationRuleView = Static<typeof NotificationRuleSchema>;

export const DELIVERY_STATES = ['pending', 'delivered', 'dead', 'canceled'] as const;
export const DeliveryStateSchema = Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s)));

export const DeliverySchema = Type.Object(
  {
    id: Id,
    endpointId: Id,
    alertId: Nullable(Id),
    ruleId: Nullable(Id),
    event: Type.Union([
      Type.Literal('alert.opened'),
      Type.Literal('alert.resolved'),
      Type.Literal('alert.escalated'),
      Type.Literal('rule.fired'),
      Type.Literal('test'),
    ]),
    state: DeliveryStateSchema,
    attempts: Type.Integer({ minimum: 0 }),
    nextAttemptAt: Timestamp,
    lastError: Nullable(Type.String()),
    payload: JsonObject,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deliveredAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
export type DeliveryView = Static<typeof DeliverySchema>;

export const DeliveryListQuery = Type.Object(
  {
    state: Type.Optional(DeliveryStateSchema),
    endpointId: Type.Optional(Id),
    alertId: Type.Optional(Id),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type DeliveryListQuery = Static<typeof DeliveryListQuery>;

/** A maintenance window: at most 30 days long (decision 0030, amendment). */
export const MAX_WINDOW_DAYS = 30;

export const CreateMaintenanceWindowRequest = Type.Object(
  {
    /** Devices there and in every location below; null or absent: the whole organization. */
    locationId: Type.Optional(Nullable(Id)),
    /** Absent: now. */
    startsAt: Type.Optional(Timestamp),
    endsAt: Timestamp,
    /** Alert kinds held back; absent or empty: every kind. */
    kinds: Type.Optional(Type.Array(AlertKindSchema, { maxItems: 50 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type CreateMaintenanceWindowRequest = Static<typeof CreateMaintenanceWindowRequest>;

export const MaintenanceWindowSchema = Type.Object(
  {
    id: Id,
    locationId: Nullable(Id),
    kinds: Type.Array(Type.String()),
    startsAt: Timestamp,
    endsAt: Timestamp,
    reason: Type.String(),
    createdBy: Type.String(),
    createdAt: Timestamp,
    /** `scheduled`, `active` or `ended`, at the time of the answer. */
    status: Type.Union([Type.Literal('scheduled'), Type.Literal('active'), Type.Literal('ended')]),
  },
  { additionalProperties: false },
);
export type MaintenanceWindowView = Static<typeof MaintenanceWindowSchema>;

export const MaintenanceWindowListQuery = Type.Object(
  {
    /** Also list windows that have ended (the most recent 200). */
    includeEnded: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type MaintenanceWindowListQuery = Static<typeof MaintenanceWindowListQuery>;

import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, PageQuery, Timestamp } from './common.js';

/** A media type (RFC 6838 `type/subtype`), lower case, without parameters. */
const MediaType = Type.String({
  pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$',
  description:
    'The payload format of messages that declare no content type (e.g. MQTT 3.1.1 devices): ' +
    'application/senml+json or application/senml+cbor makes them parsed as SenML. Null: opaque.',
  examples: ['application/senml+json'],
});

export const ChannelSchema = Type.Object(
  {
    id: Id,
    name: Name,
    persisted: Type.Boolean(),
    retentionDays: Nullable(Type.Integer({ minimum: 1 })),
    contentType: Nullable(MediaType),
    createdAt: Timestamp,
    topic: Type.String({ description: 'The MQTT topic to publish to (subtopics may follow).' }),
  },
  { additionalProperties: false },
);
export type ChannelView = Static<typeof ChannelSchema>;

export const CreateChannelRequest = Type.Object(
  {
    name: Name,
    persisted: Type.Optional(Type.Boolean({ default: true })),
    retentionDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36500 }))),
    contentType: Type.Optional(Nullable(MediaType)),
  },
  { additionalProperties: false },
);
export type CreateChannelRequest = Static<typeof CreateChannelRequest>;

export const UpdateChannelRequest = Type.Object(
  {
    name: Type.Optional(Name),
    persisted: Type.Optional(Type.Boolean()),
    retentionDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36500 }))),
    contentType: Type.Optional(Nullable(MediaType)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateChannelRequest = Static<typeof UpdateChannelRequest>;

export const ClientType = Type.Union([Type.Literal('device'), Type.Literal('api_key')]);

export const ConnectionSchema = Type.Object(
  {
    channelId: Id,
    clientType: ClientType,
    clientId: Id,
    publish: Type.Boolean(),
    subscribe: Type.Boolean(),
    createdAt: Timestamp,
    clientName: Type.Optional(
      Nullable(
        Type.String({
          description:
            "The device's or API key's name (listing only; null once the client is gone).",
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type ConnectionView = Static<typeof ConnectionSchema>;

export const ConnectRequest = Type.Object(
  {
    clientType: ClientType,
    clientId: Id,
    publish: Type.Boolean(),
    subscribe: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ConnectRequest = Static<typeof ConnectRequest>;

export const ConnectionParams = Type.Object(
  { id: Id, clientType: ClientType, clientId: Id },
  { additionalProperties: false },
);

export const SenmlRecordSchema = Type.Object(
  {
    n: Type.String(),
    u: Type.Optional(Type.String()),
    v: Type.Optional(Type.Number()),
    vs: Type.Optional(Type.String()),
    vb: Type.Optional(Type.Boolean()),
    vd: Type.Optional(Type.String()),
    s: Type.Optional(Type.Number()),
    t: Type.Number(),
    ut: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

export const MessageSchema = Type.Object(
  {
    id: Id,
    channelId: Id,
    subtopic: Type.String(),
    publisher: Type.Object(
      { type: ClientType, id: Type.String() },
      { additionalProperties: false },
    ),
    protocol: Type.String(),
    contentType: Type.String(),
    receivedAt: Timestamp,
    payload: Type.String({ description: 'base64' }),
    senml: Type.Optional(Type.Array(SenmlRecordSchema)),
  },
  { additionalProperties: false },
);
export type MessageView = Static<typeof MessageSchema>;

export const MessageQuerySchema = Type.Object(
  {
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    publisher: Type.Optional(Type.String({ maxLength: 100 })),
    subtopic: Type.Optional(Type.String({ maxLength: 1024 })),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'SenML record name' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type MessageQueryView = Static<typeof MessageQuerySchema>;

export const AggregateQuerySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'SenML record name' }),
    from: Timestamp,
    to: Timestamp,
    bucket: Type.String({ pattern: '^[1-9][0-9]*(s|m|h|d)$', description: 'e.g. 30s, 5m, 1h, 1d' }),
    fn: Type.Union([
      Type.Literal('min'),
      Type.Literal('max'),
      Type.Literal('avg'),
      Type.Literal('count'),
      Type.Literal('last'),
    ]),
    publisher: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type AggregateQueryView = Static<typeof AggregateQuerySchema>;

export const BucketSchema = Type.Object(
  { start: Timestamp, value: Nullable(Type.Number()), count: Type.Integer() },
  { additionalProperties: false },
);

export const AcceptedSchema = Type.Object(
  { id: Id, receivedAt: Timestamp },
  { additionalProperties: false },
);

export const IngestParams = Type.Object(
  { id: Id, '*': Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);

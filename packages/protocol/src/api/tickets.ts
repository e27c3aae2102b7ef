/**
 * Access tickets over REST: one-time, short-lived tickets for a device's local management port
 * (claims: device-plane.ts `AccessTicketClaims`), and backup tickets issued ahead of time for
 * isolated sites, listed and revocable.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Nullable, Timestamp } from './common.js';

/** The permission levels of a ticket (device-plane.ts `TICKET_PERMISSIONS`). */
export const TicketPermSchema = Type.Union([
  Type.Literal('read'),
  Type.Literal('operate'),
  Type.Literal('admin'),
]);

export const IssueTicketRequest = Type.Object(
  {
    perm: TicketPermSchema,
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 90 * 86_400,
        description:
          'Lifetime. Normal tickets: 60-900 (default 300). Backup tickets: 60-7776000 (default 30 days).',
      }),
    ),
    backup: Type.Optional(
      Type.Boolean({
        description: 'Issue ahead of time for an isolated site (days, listed and revocable).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type IssueTicketRequest = Static<typeof IssueTicketRequest>;

export const TicketSchema = Type.Object(
  {
    jti: Id,
    deviceId: Id,
    perm: TicketPermSchema,
    issuedBy: Id,
    issuedByType: Type.Union([Type.Literal('user'), Type.Literal('api_key')]),
    issuedAt: Timestamp,
    expiresAt: Timestamp,
    backup: Type.Boolean(),
    revokedAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
export type TicketView = Static<typeof TicketSchema>;

export const IssuedTicketSchema = Type.Object(
  {
    ticket: Type.String({
      description:
        'The signed ticket (compact JWS, ES256, by the organization issuing CA); shown only in this response. Present it on the device with `ticket <jws>`.',
    }),
    jti: Id,
    deviceId: Id,
    perm: TicketPermSchema,
    issuedAt: Timestamp,
    expiresAt: Timestamp,
    backup: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type IssuedTicketView = Static<typeof IssuedTicketSchema>;

export const TicketListQuery = Type.Object(
  {
    all: Type.Optional(
      Type.Boolean({ description: 'Include expired tickets (default: only unexpired ones).' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type TicketListQuery = Static<typeof TicketListQuery>;

export const TicketParams = Type.Object({ id: Id, jti: Id }, { additionalProperties: false });

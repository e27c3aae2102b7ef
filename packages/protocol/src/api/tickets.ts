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

/** `local`, `serial` or `tcp:PORT`: what a remote-access tunnel reaches on the device. */
export const TunnelTargetSchema = Type.String({
  pattern: '^(local|serial|tcp:[1-9][0-9]{0,4})$',
  description:
    'local (the local management protocol), serial (the serial pass-through) or tcp:PORT (a TCP port on the device loopback, e.g. tcp:22)',
});

export const OpenTunnelRequest = Type.Object(
  {
    target: TunnelTargetSchema,
    perm: Type.Optional(
      Type.Union([Type.Literal('read'), Type.Literal('operate'), Type.Literal('admin')], {
        description:
          'Ticket level (default operate; serial and tcp:PORT need operate or admin, local any).',
      }),
    ),
    maxSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 8 * 3600,
        description: 'The session is closed after this long (default 3600).',
      }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        maximum: 64 * 1024 ** 3,
        description:
          'The session is closed once this many bytes crossed the relay, both ways together (default 1 GiB).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type OpenTunnelRequest = Static<typeof OpenTunnelRequest>;

export const TunnelSchema = Type.Object(
  {
    sessionId: Id,
    secret: Type.String({
      description: "The operator leg's one-time pairing secret (header x-bulwark-relay-secret).",
    }),
    relayPath: Type.String({
      description: 'Dial it on the hub origin with HTTP Upgrade: bulwark-relay/1.',
    }),
    ticket: Type.String({ description: 'Present inside the end-to-end TLS session.' }),
    jti: Id,
    deviceId: Id,
    target: TunnelTargetSchema,
    perm: TicketPermSchema,
    pins: Type.Array(Type.String(), {
      description:
        "SHA-256 fingerprints (hex) of the device's live certificates: the CLI pins the device to these.",
    }),
    pairBy: Timestamp,
    maxSeconds: Type.Integer(),
    maxBytes: Type.Integer(),
  },
  { additionalProperties: false },
);
export type TunnelView = Static<typeof TunnelSchema>;

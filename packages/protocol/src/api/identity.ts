import { Type, type Static } from '@sinclair/typebox';
import { Id, Name, Nullable, Timestamp } from './common.js';
import { Tag } from './devices.js';
import {
  MAX_SCOPED_GRANTS,
  PERMISSIONS,
  ROLE_PRESETS,
  ROLES,
  SCOPABLE_PERMISSIONS,
} from './enums.js';

export { MAX_SCOPED_GRANTS, PERMISSIONS, ROLE_PRESETS, ROLES, SCOPABLE_PERMISSIONS };

export type Permission = (typeof PERMISSIONS)[number] | `port:${string}`;

export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
export type RoleName = (typeof ROLES)[number];

/** A permission string: one of PERMISSIONS, or `port:<name>`. */
export const PermissionSchema = Type.String({
  pattern: `^(${PERMISSIONS.join('|')}|port:[a-z0-9][a-z0-9._-]{0,62})$`,
});

/** A permission a scoped grant may carry: one of SCOPABLE_PERMISSIONS, or `port:<name>`. */
export const ScopablePermissionSchema = Type.String({
  pattern: `^(${SCOPABLE_PERMISSIONS.join('|')}|port:[a-z0-9][a-z0-9._-]{0,62})$`,
});

/**
 * A scoped grant (decision 0046): extra permissions on the devices in a location subtree and/or
 * carrying a tag. When both are set, a device must match both.
 */
export const ScopedGrantSchema = Type.Object(
  {
    id: Id,
    permissions: Type.Array(ScopablePermissionSchema, { minItems: 1, maxItems: 16 }),
    locationId: Nullable(Id),
    tag: Nullable(Tag),
    grantedBy: Id,
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
export type ScopedGrantView = Static<typeof ScopedGrantSchema>;

/** A new scoped grant: at least one of `locationId` and `tag`. */
export const CreateScopedGrantRequest = Type.Object(
  {
    permissions: Type.Array(ScopablePermissionSchema, { minItems: 1, maxItems: 16 }),
    locationId: Type.Optional(Id),
    tag: Type.Optional(Tag),
  },
  { additionalProperties: false },
);
export type CreateScopedGrantRequest = Static<typeof CreateScopedGrantRequest>;

/** `{ id, grantId }`: a member and one of their scoped grants. */
export const ScopedGrantParams = Type.Object(
  { id: Id, grantId: Id },
  { additionalProperties: false },
);

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 12, maxLength: 1024 });
export const TotpCode = Type.String({ pattern: '^[0-9]{6}$' });

export const OrganizationSchema = Type.Object(
  { id: Id, name: Name, createdAt: Timestamp },
  { additionalProperties: false },
);
export type OrganizationView = Static<typeof OrganizationSchema>;

export const UserSchema = Type.Object(
  {
    id: Id,
    email: Email,
    name: Name,
    role: RoleSchema,
    grants: Type.Array(PermissionSchema),
    scopedGrants: Type.Array(ScopedGrantSchema, { maxItems: MAX_SCOPED_GRANTS }),
    totpEnabled: Type.Boolean(),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);
export type UserView = Static<typeof UserSchema>;

export const SetupStatusSchema = Type.Object(
  { required: Type.Boolean() },
  { additionalProperties: false },
);

export const SetupRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    organization: Name,
    email: Email,
    name: Name,
    password: Password,
  },
  { additionalProperties: false },
);
export type SetupRequest = Static<typeof SetupRequest>;

export const SetupResponse = Type.Object(
  { organization: OrganizationSchema, user: UserSchema },
  { additionalProperties: false },
);

export const LoginRequest = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    totp: Type.Optional(TotpCode),
    organizationId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

export const TokenPair = Type.Object(
  {
    accessToken: Type.String(),
    refreshToken: Type.Optional(
      Type.String({
        description:
          'Absent when the request asked for a browser session (`X-Bulwark-Session: cookie`): the refresh token is then only in the HttpOnly `__Host-bulwark_refresh` cookie.',
      }),
    ),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires.' }),
    organizationId: Id,
  },
  { additionalProperties: false },
);
export type TokenPair = Static<typeof TokenPair>;

/**
 * Refresh and logout: the refresh token in the body, or — a browser session, with the
 * `X-Bulwark-Session: cookie` header — none in the body and the `__Host-bulwark_refresh` cookie.
 */
export const SessionTokenRequest = Type.Object(
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

/** Whether the browser sent the refresh cookie (its value is never shown to the page). */
export const SessionCookieStatus = Type.Object(
  { cookie: Type.Boolean() },
  { additionalProperties: false },
);

export const MeSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('user'), Type.Literal('api_key')]),
    id: Id,
    name: Type.String(),
    email: Nullable(Email),
    organization: OrganizationSchema,
    role: Nullable(RoleSchema),
    permissions: Type.Array(PermissionSchema),
    scopedGrants: Type.Optional(
      Type.Array(ScopedGrantSchema, {
        description: 'Permissions the caller holds on device groups only (decision 0046).',
      }),
    ),
    totpEnabled: Type.Optional(
      Type.Boolean({
        description: 'A user: whether sign-in asks for a TOTP code. Absent for an API key.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MeView = Static<typeof MeSchema>;

export const TotpEnrollment = Type.Object(
  { secret: Type.String(), otpauthUrl: Type.String() },
  { additionalProperties: false },
);
export const TotpConfirm = Type.Object({ code: TotpCode }, { additionalProperties: false });

export const CreateOrganizationRequest = Type.Object(
  { name: Name },
  { additionalProperties: false },
);

export const CreateUserRequest = Type.Object(
  {
    email: Email,
    name: Name,
    password: Password,
    role: RoleSchema,
    grants: Type.Optional(Type.Array(PermissionSchema, { maxItems: 64 })),
  },
  { additionalProperties: false },
);
export type CreateUserRequest = Static<typeof CreateUserRequest>;

export const UpdateUserRequest = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    grants: Type.Optional(Type.Array(PermissionSchema, { maxItems: 64 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserRequest = Static<typeof UpdateUserRequest>;

export const ChangePasswordRequest = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: Password },
  { additionalProperties: false },
);
export type ChangePasswordRequest = Static<typeof ChangePasswordRequest>;

export const ResetPasswordRequest = Type.Object(
  { password: Password },
  { additionalProperties: false },
);
export type ResetPasswordRequest = Static<typeof ResetPasswordRequest>;

export const PasswordChangedSchema = Type.Object(
  {
    revokedSessions: Type.Integer({
      minimum: 0,
      description: 'Sessions of the user that were ended (for a change: all but the caller’s own).',
    }),
  },
  { additionalProperties: false },
);

export const TransferOwnershipRequest = Type.Object(
  { userId: Id },
  { additionalProperties: false },
);
export type TransferOwnershipRequest = Static<typeof TransferOwnershipRequest>;

export const OwnershipTransferSchema = Type.Object(
  {
    owner: UserSchema,
    // the caller, who stays a member as an admin
    previousOwner: UserSchema,
  },
  { additionalProperties: false },
);

export const ApiKeySchema = Type.Object(
  {
    id: Id,
    name: Name,
    permissions: Type.Array(PermissionSchema),
    createdAt: Timestamp,
    expiresAt: Nullable(Timestamp),
    lastUsedAt: Nullable(Timestamp),
    revokedAt: Nullable(Timestamp),
  },
  { additionalProperties: false },
);
export type ApiKeyView = Static<typeof ApiKeySchema>;

export const CreateApiKeyRequest = Type.Object(
  {
    name: Name,
    permissions: Type.Array(PermissionSchema, { minItems: 1, maxItems: 64 }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>;

export const CreatedApiKey = Type.Object(
  {
    apiKey: ApiKeySchema,
    key: Type.String({ description: 'The secret; shown only in this response.' }),
  },
  { additionalProperties: false },
);

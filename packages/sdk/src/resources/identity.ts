import type { BodyOf, Call } from '../types.js';

/** The organization's scoped API keys. */
export function apiKeysApi(call: Call) {
  return {
    /** Every API key of the organization (secrets are never listed). */
    list: () => call('listApiKeys'),
    /** Creates an API key; the secret `key` is in this response only. */
    create: (body: BodyOf<'createApiKey'>) => call('createApiKey', { body }),
    /** Revokes an API key at once. */
    revoke: (id: string) => call('revokeApiKey', { params: { id } }),
  };
}

/** Members of the organization. */
export function usersApi(call: Call) {
  return {
    /** Every member of the organization. */
    list: () => call('listUsers'),
    /** Adds a user with a role. */
    create: (body: BodyOf<'createUser'>) => call('createUser', { body }),
    /** Changes a member's role or grants. */
    update: (id: string, body: BodyOf<'updateUser'>) =>
      call('updateUser', { params: { id }, body }),
    /** Removes a member and revokes their sessions. */
    remove: (id: string) => call('removeUser', { params: { id } }),
    /** Resets a member's password (one you may manage, in no other organization); all their sessions end. */
    resetPassword: (id: string, password: string) =>
      call('resetUserPassword', { params: { id }, body: { password } }),
    /** Gives a member permissions on a device group (a location subtree and/or a tag). */
    addScopedGrant: (id: string, body: BodyOf<'addScopedGrant'>) =>
      call('addScopedGrant', { params: { id }, body }),
    /** Takes back one of a member's scoped grants. */
    removeScopedGrant: (id: string, grantId: string) =>
      call('removeScopedGrant', { params: { id, grantId } }),
  };
}

/** Organizations the caller belongs to. */
export function orgsApi(call: Call) {
  return {
    /** The caller's organizations. */
    list: () => call('listOrganizations'),
    /** Creates an organization owned by the calling user. */
    create: (body: BodyOf<'createOrganization'>) => call('createOrganization', { body }),
    /** Hands the owner role of the current organization to a member; you become an admin. */
    transferOwnership: (userId: string) => call('transferOwnership', { body: { userId } }),
  };
}

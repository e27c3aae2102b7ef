import type { Permission, RoleName } from '@bulwark/protocol';
import { BulwarkError } from '@bulwark/protocol';
import type { ScopedGrant } from '../ports/records.js';

/** Who is calling: a user (access token), an API key, or a device (client certificate). */
export interface Principal {
  kind: 'user' | 'api_key' | 'device';
  id: string;
  orgId: string;
  name: string;
  role: RoleName | null;
  permissions: Permission[];
  /** A user's permissions on device groups only (decision 0046); `permissions` stay org-wide. */
  scopedGrants?: readonly ScopedGrant[];
  /** The refresh session behind a user's access token. */
  sessionId?: string;
}

/** The caller of a service method and where the call came from (for audit). */
export interface CallContext {
  principal: Principal | null;
  /** Remote address, or `local` for commands run on the data dir. */
  source: string | null;
}

/** Throws `forbidden` unless the principal holds the permission. */
export function requirePermission(p: Principal, needed: Permission): void {
  if (!p.permissions.includes(needed)) {
    throw new BulwarkError('forbidden', `this action needs the '${needed}' permission`, {
      extra: { permission: needed },
    });
  }
}

import { PERMISSIONS } from '@bulwark/protocol';
import { BulwarkError } from '@bulwark/protocol';
import { openLocal, parseLocal } from './local-context.js';
import { readSecret } from './prompt.js';

const LOCAL = { principal: null, source: 'local' } as const;

/** `bulwark admin create-owner`: an owner account made directly on the data dir. */
export async function createOwner(argv: string[]): Promise<number> {
  const { config, values } = parseLocal(argv, {
    email: { type: 'string' },
    name: { type: 'string' },
    organization: { type: 'string' },
    org: { type: 'string' },
  });
  const email = values['email'];
  if (typeof email !== 'string') throw new BulwarkError('validation_failed', '--email is required');
  const name = typeof values['name'] === 'string' ? values['name'] : email.split('@')[0]!;
  const password = await readSecret(`Password for ${email}: `, 'BULWARK_PASSWORD');
  const local = await openLocal(config);
  try {
    const { services, storage } = local;
    let orgId: string;
    let userId: string;
    if (typeof values['org'] === 'string') {
      const org = await services.orgs.get(values['org']);
      const user = await services.auth.newUser(email, name, password);
      await storage.users.create(user);
      await storage.memberships.put({
        orgId: org.id,
        userId: user.id,
        role: 'owner',
        grants: [],
        createdAt: user.createdAt,
      });
      orgId = org.id;
      userId = user.id;
    } else {
      const passwordHash = await services.auth.hashNewPassword(password, email);
      const organization =
        typeof values['organization'] === 'string' ? values['organization'] : 'Default';
      const r = await services.auth.createOwner({ organization, email, name, passwordHash });
      orgId = r.organization.id;
      userId = r.user.id;
    }
    await services.audit.record({
      ...audit('admin.createOwner', orgId, userId),
      detail: { email: email.toLowerCase() },
    });
    process.stdout.write(`owner ${email} created in organization ${orgId} (user ${userId})\n`);
    return 0;
  } finally {
    await local.close();
  }
}

/** `bulwark admin api-key`: an API key made on the data dir, printed once on stdout. */
export async function createApiKey(argv: string[]): Promise<number> {
  const { config, values } = parseLocal(argv, {
    name: { type: 'string' },
    org: { type: 'string' },
    permission: { type: 'string', multiple: true },
    'expires-days': { type: 'string' },
  });
  const name = values['name'];
  if (typeof name !== 'string') throw new BulwarkError('validation_failed', '--name is required');
  const permissions = (values['permission'] as string[] | undefined) ?? [...PERMISSIONS];
  for (const p of permissions) {
    if (
      !(PERMISSIONS as readonly string[]).includes(p) &&
      !/^port:[a-z0-9][a-z0-9._-]{0,62}$/.test(p)
    ) {
      throw new BulwarkError(
        'validation_failed',
        `unknown permission '${p}'; known: ${PERMISSIONS.join(', ')}, port:<name>`,
      );
    }
  }
  const local = await openLocal(config);
  try {
    const { services, storage } = local;
    let orgId = typeof values['org'] === 'string' ? values['org'] : undefined;
    if (!orgId) {
      const orgs = await storage.organizations.list(2);
      if (orgs.length === 0) {
        throw new BulwarkError(
          'not_found',
          'no organization yet: create the owner first (bulwark admin create-owner)',
        );
      }
      if (orgs.length > 1)
        throw new BulwarkError(
          'validation_failed',
          'several organizations: name one with --org ID',
        );
      orgId = orgs[0]!.id;
    }
    await services.orgs.get(orgId);
    const days = values['expires-days'];
    const r = await services.apiKeys.create(orgId, null, {
      name,
      permissions,
      ...(typeof days === 'string' ? { expiresInDays: Number(days) } : {}),
    });
    await services.audit.record({
      ...audit('admin.createApiKey', orgId, r.apiKey.id),
      detail: { name, permissions },
    });
    process.stderr.write(
      `API key ${r.apiKey.id} "${name}" for organization ${orgId}; it is shown only now:\n`,
    );
    process.stdout.write(r.key + '\n');
    return 0;
  } finally {
    await local.close();
  }
}

/**
 * `bulwark admin reset-password`: a new password for a user, set on the data dir by a local
 * operator (who has full control anyway) — the way back in for a locked-out or forgotten owner.
 * The password comes from BULWARK_PASSWORD, a prompt or one line of stdin, never a flag (flags
 * show in `ps` and shell history). Clears any lock and ends every session of the user.
 */
export async function resetPassword(argv: string[]): Promise<number> {
  const { config, values } = parseLocal(argv, { email: { type: 'string' } });
  const email = values['email'];
  if (typeof email !== 'string') throw new BulwarkError('validation_failed', '--email is required');
  const local = await openLocal(config);
  try {
    const { services, storage } = local;
    const user = await storage.users.getByEmail(email);
    if (!user) throw new BulwarkError('not_found', `no user with the email ${email}`);
    const password = await readSecret(`New password for ${email}: `, 'BULWARK_PASSWORD');
    const r = await services.auth.resetPassword(user.id, password);
    for (const m of await storage.memberships.listByUser(user.id)) {
      await services.audit.record({
        ...audit('admin.resetPassword', m.orgId, user.id),
        detail: { email: user.email, revokedSessions: r.revokedSessions },
      });
    }
    process.stdout.write(
      `password of ${user.email} reset; ${r.revokedSessions} session(s) ended\n`,
    );
    return 0;
  } finally {
    await local.close();
  }
}

function audit(action: string, orgId: string, targetId: string) {
  return {
    orgId,
    actorType: 'local' as const,
    actorId: null,
    action,
    targetType: 'local',
    targetId,
    source: LOCAL.source,
    result: 'success' as const,
  };
}

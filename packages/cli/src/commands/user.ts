import type { UpdateUserRequest, UserView } from '@bulwark/protocol';
import { ROLES } from '@bulwark/protocol/lite';
import type { Command } from '../command.js';
import { formatTable, type Column, listJson } from '../output.js';
import { readSecret } from '../prompt.js';

const USER_COLUMNS: Column<UserView>[] = [
  { header: 'ID', value: (u) => u.id },
  { header: 'EMAIL', value: (u) => u.email },
  { header: 'NAME', value: (u) => u.name },
  { header: 'ROLE', value: (u) => u.role },
  { header: 'GRANTS', value: (u) => u.grants },
  { header: 'TOTP', value: (u) => (u.totpEnabled ? 'yes' : 'no') },
];
const GRANT = {
  type: 'string',
  multiple: true,
  value: 'P',
  help: 'an extra permission beyond the role (repeatable)',
} as const;

/** `bulwark user list|add|update|password|reset-password|remove`. */
export const userCommands: Command[] = [
  {
    path: ['user', 'list'],
    summary: 'List the members of the organization.',
    run: async (ctx) => {
      const users = await ctx.client().users.list();
      ctx.print(listJson(users), () => formatTable(users, USER_COLUMNS));
    },
  },
  {
    path: ['user', 'add'],
    summary: 'Add a user (password from BULWARK_USER_PASSWORD, else prompted without echo).',
    options: {
      email: { type: 'string', value: 'E', help: 'email (required)' },
      name: { type: 'string', value: 'N', help: 'display name (required)' },
      role: { type: 'string', value: 'R', help: `${ROLES.join(', ')} (required)` },
      grant: GRANT,
    },
    run: async (ctx) => {
      const email = ctx.need('email');
      const name = ctx.need('name');
      const role = ctx.choice('role', ROLES) ?? ctx.need('role');
      const grants = ctx.strs('grant');
      const password = await readSecret(ctx.io, `password for ${email}: `, 'BULWARK_USER_PASSWORD');
      const user = await ctx.client().users.create({
        email,
        name,
        role: role as (typeof ROLES)[number],
        password,
        ...(grants.length > 0 ? { grants } : {}),
      });
      ctx.print(user, () => formatTable([user], USER_COLUMNS));
    },
  },
  {
    path: ['user', 'update'],
    args: ['ID'],
    summary: "Change a member's role or grants.",
    options: {
      role: { type: 'string', value: 'R', help: ROLES.join(', ') },
      grant: { ...GRANT, help: 'the new extra permissions (repeatable; replaces all)' },
      'no-grants': { type: 'boolean', help: 'remove all extra permissions' },
    },
    run: async (ctx) => {
      const body: UpdateUserRequest = {};
      const role = ctx.choice('role', ROLES);
      if (role !== undefined) body.role = role;
      if (ctx.strs('grant').length > 0) body.grants = ctx.strs('grant');
      if (ctx.flag('no-grants')) body.grants = [];
      if (Object.keys(body).length === 0)
        throw ctx.usage('nothing to change: give --role or --grant');
      const user = await ctx.client().users.update(ctx.args[0] ?? '', body);
      ctx.print(user, () => formatTable([user], USER_COLUMNS));
    },
  },
  {
    path: ['user', 'password'],
    summary:
      'Change your own password (current from BULWARK_PASSWORD, new from BULWARK_NEW_PASSWORD, else prompted); your other sessions end.',
    run: async (ctx) => {
      const client = ctx.client();
      const current = await readSecret(ctx.io, 'current password: ', 'BULWARK_PASSWORD');
      const next = await readSecret(ctx.io, 'new password: ', 'BULWARK_NEW_PASSWORD');
      const r = await client.auth.changePassword(current, next);
      ctx.print(r, () => `password changed; ${r.revokedSessions} other session(s) ended\n`);
    },
  },
  {
    path: ['user', 'reset-password'],
    args: ['ID'],
    summary:
      "Reset a member's password (from BULWARK_USER_PASSWORD, else prompted); all their sessions end.",
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      const client = ctx.client();
      const password = await readSecret(
        ctx.io,
        `new password for ${id}: `,
        'BULWARK_USER_PASSWORD',
      );
      const r = await client.users.resetPassword(id, password);
      ctx.print(r, () => `password of ${id} reset; ${r.revokedSessions} session(s) ended\n`);
    },
  },
  {
    path: ['user', 'remove'],
    args: ['ID'],
    summary: 'Remove a member from the organization and revoke their sessions.',
    run: async (ctx) => {
      await ctx.client().users.remove(ctx.args[0] ?? '');
      ctx.print({ removed: ctx.args[0] }, () => `removed user ${ctx.args[0] ?? ''}\n`);
    },
  },
];

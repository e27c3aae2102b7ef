import type { CreateScopedGrantRequest, ScopedGrantView } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';
import { resolveName } from '../names.js';
import { formatTable, type Column, listJson } from '../output.js';

const SCOPE_COLUMNS: Column<ScopedGrantView>[] = [
  { header: 'GRANT', value: (g) => g.id },
  { header: 'PERMISSIONS', value: (g) => g.permissions },
  { header: 'LOCATION', value: (g) => g.locationId ?? '-' },
  { header: 'TAG', value: (g) => g.tag ?? '-' },
  { header: 'GRANTED BY', value: (g) => g.grantedBy },
];

/** `bulwark user grant|ungrant|scopes`: permissions on device groups (decision 0046). */
export const userScopeCommands: Command[] = [
  {
    path: ['user', 'grant'],
    args: ['ID'],
    summary:
      'Give a member permissions on a device group: the devices in a location subtree and/or with a tag.',
    options: {
      permission: {
        type: 'string',
        multiple: true,
        value: 'P',
        help: 'devices:manage, firmware:update, application:update, network:configure or port:NAME (repeatable, required)',
      },
      location: { type: 'string', value: 'L', help: 'location id or exact name (its subtree)' },
      tag: { type: 'string', value: 'T', help: 'devices carrying this tag' },
    },
    run: async (ctx) => {
      const permissions = ctx.strs('permission');
      if (permissions.length === 0) throw ctx.usage('give at least one --permission');
      const location = ctx.str('location');
      const tag = ctx.str('tag');
      if (location === undefined && tag === undefined)
        throw ctx.usage('give --location, --tag or both (org-wide grants: `bulwark user update`)');
      const body: CreateScopedGrantRequest = { permissions };
      if (location !== undefined)
        body.locationId = await resolveName(() => ctx.client(), 'location', location);
      if (tag !== undefined) body.tag = tag;
      const user = await ctx.client().users.addScopedGrant(ctx.args[0] ?? '', body);
      ctx.print(user, () => formatTable(user.scopedGrants, SCOPE_COLUMNS));
    },
  },
  {
    path: ['user', 'ungrant'],
    args: ['ID', 'GRANT'],
    summary: "Take back one of a member's scoped grants.",
    run: async (ctx) => {
      const user = await ctx.client().users.removeScopedGrant(ctx.args[0] ?? '', ctx.args[1] ?? '');
      ctx.print(user, () => formatTable(user.scopedGrants, SCOPE_COLUMNS));
    },
  },
  {
    path: ['user', 'scopes'],
    args: ['ID'],
    summary: "List a member's scoped grants.",
    run: async (ctx) => {
      const user = (await ctx.client().users.list()).find((u) => u.id === ctx.args[0]);
      if (!user) throw new CliError(`no member with id ${ctx.args[0] ?? ''}`);
      ctx.print(listJson(user.scopedGrants), () => formatTable(user.scopedGrants, SCOPE_COLUMNS));
    },
  },
];

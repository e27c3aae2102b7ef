import type { OrganizationView } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { formatTable, type Column, listJson } from '../output.js';

const ORG_COLUMNS: Column<OrganizationView>[] = [
  { header: 'ID', value: (o) => o.id },
  { header: 'NAME', value: (o) => o.name },
  { header: 'CREATED', value: (o) => o.createdAt },
];

/** `bulwark org list|create|transfer-ownership`. */
export const orgCommands: Command[] = [
  {
    path: ['org', 'list'],
    summary: 'List the organizations you belong to.',
    run: async (ctx) => {
      const orgs = await ctx.client().orgs.list();
      ctx.print(listJson(orgs), () => formatTable(orgs, ORG_COLUMNS));
    },
  },
  {
    path: ['org', 'create'],
    args: ['NAME'],
    summary: 'Create an organization; you become its owner (needs a user token, not an API key).',
    run: async (ctx) => {
      const org = await ctx.client().orgs.create({ name: ctx.args[0] ?? '' });
      ctx.print(org, () => formatTable([org], ORG_COLUMNS));
    },
  },
  {
    path: ['org', 'transfer-ownership'],
    args: ['USER_ID'],
    summary:
      'Hand the owner role of your organization to a member; you stay as an admin (owners only, user token).',
    run: async (ctx) => {
      const r = await ctx.client().orgs.transferOwnership(ctx.args[0] ?? '');
      ctx.print(
        r,
        () => `${r.owner.email} now owns the organization; ${r.previousOwner.email} is an admin\n`,
      );
    },
  },
];

import { PERMISSIONS } from '@bulwark/protocol/lite';
import type { Command } from '../command.js';
import { formatFields, formatTable, listJson } from '../output.js';

/** `bulwark api-key create|list|revoke`. */
export const apiKeyCommands: Command[] = [
  {
    path: ['api-key', 'create'],
    summary: 'Create a scoped API key (the secret is shown only once).',
    options: {
      name: { type: 'string', value: 'N', help: 'a name to recognize the key by (required)' },
      permission: {
        type: 'string',
        multiple: true,
        value: 'P',
        help: `a permission (repeatable, at least one): ${PERMISSIONS.join(', ')}, port:NAME`,
      },
      'expires-days': { type: 'string', value: 'D', help: 'expire after D days (default never)' },
    },
    run: async (ctx) => {
      const name = ctx.need('name');
      const permissions = ctx.strs('permission');
      if (permissions.length === 0) throw ctx.usage('--permission is required (at least one)');
      const days = ctx.int('expires-days');
      const created = await ctx.client().apiKeys.create({
        name,
        permissions: permissions,
        ...(days === undefined ? {} : { expiresInDays: days }),
      });
      ctx.print(created, () => {
        const k = created.apiKey;
        return (
          formatFields([
            ['id', k.id],
            ['name', k.name],
            ['permissions', k.permissions],
            ['expires', k.expiresAt ?? 'never'],
            ['key', created.key],
          ]) + 'note: the key is shown only this once; store it now (e.g. as BULWARK_API_KEY)\n'
        );
      });
    },
  },
  {
    path: ['api-key', 'list'],
    summary: "List the organization's API keys.",
    run: async (ctx) => {
      const keys = await ctx.client().apiKeys.list();
      ctx.print(listJson(keys), () =>
        formatTable(keys, [
          { header: 'ID', value: (k) => k.id },
          { header: 'NAME', value: (k) => k.name },
          { header: 'PERMISSIONS', value: (k) => k.permissions },
          { header: 'CREATED', value: (k) => k.createdAt },
          { header: 'EXPIRES', value: (k) => k.expiresAt },
          { header: 'LAST USED', value: (k) => k.lastUsedAt },
          { header: 'REVOKED', value: (k) => k.revokedAt },
        ]),
      );
    },
  },
  {
    path: ['api-key', 'revoke'],
    args: ['ID'],
    summary: 'Revoke an API key at once.',
    run: async (ctx) => {
      await ctx.client().apiKeys.revoke(ctx.args[0] ?? '');
      ctx.print({ revoked: ctx.args[0] }, () => `revoked API key ${ctx.args[0] ?? ''}\n`);
    },
  },
];

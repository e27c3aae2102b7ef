import type { Command } from '../command.js';
import { formatFields } from '../output.js';
import { readSecret } from '../prompt.js';

/** `bulwark whoami` and `bulwark login`. */
export const sessionCommands: Command[] = [
  {
    path: ['whoami'],
    summary:
      'Show who the configured credentials are, in which organization, with which permissions.',
    run: async (ctx) => {
      const me = await ctx.client().me();
      ctx.print(me, () =>
        formatFields([
          ['kind', me.kind === 'api_key' ? 'API key' : 'user'],
          ['id', me.id],
          ['name', me.name],
          ['email', me.email],
          ['organization', `${me.organization.name} (${me.organization.id})`],
          ['role', me.role],
          ['permissions', me.permissions],
        ]),
      );
    },
  },
  {
    path: ['login'],
    summary:
      'Log in and print an access token for BULWARK_TOKEN (password from BULWARK_PASSWORD, else prompted).',
    options: {
      email: { type: 'string', value: 'E', help: 'your email (required)' },
      totp: { type: 'string', value: 'CODE', help: 'the current TOTP code, if you enrolled one' },
      org: { type: 'string', value: 'ID', help: 'the organization to log in to' },
    },
    run: async (ctx) => {
      const email = ctx.need('email');
      const totp = ctx.str('totp');
      const org = ctx.str('org');
      const client = ctx.client(false);
      const password = await readSecret(ctx.io, 'password: ', 'BULWARK_PASSWORD');
      const tokens = await client.auth.login({
        email,
        password,
        ...(totp === undefined ? {} : { totp }),
        ...(org === undefined ? {} : { organizationId: org }),
      });
      // Only the token goes to stdout, so `export BULWARK_TOKEN=$(bulwark login …)` works.
      ctx.print(tokens, () => `${tokens.accessToken}\n`);
      if (!ctx.json) {
        ctx.io.err(`access token valid for ${tokens.expiresIn}s; use it as BULWARK_TOKEN\n`);
      }
    },
  },
];

import type { Command } from '../command.js';

/** `bulwark crl` and `bulwark ca`. */
export const pkiCommands: Command[] = [
  {
    path: ['crl'],
    args: ['ORG_ID'],
    summary: "Print an organization's certificate revocation list (PEM; public, no credentials).",
    run: async (ctx) => {
      const pem = await ctx.client(false).pki.crl(ctx.args[0] ?? '');
      ctx.print({ crl: pem }, () => pem);
    },
  },
  {
    path: ['ca'],
    summary: "Print the organization's root and issuing CA and the hub's server CA (PEM).",
    run: async (ctx) => {
      const b = await ctx.client().pki.caBundle();
      ctx.print(b, () =>
        [b.issuing, b.root, b.hub].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''),
      );
    },
  },
];

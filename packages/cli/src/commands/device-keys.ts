import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, listJson } from '../output.js';

/**
 * `bulwark device key create|list|revoke`, `device psk set|remove` and `device lwm2m rebootstrap`:
 * credentials of devices without a certificate.
 */
export const deviceKeyCommands: Command[] = [
  {
    path: ['device', 'key', 'create'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: 'Create a random key for a device without a certificate (shown only once).',
    run: async (ctx) => {
      const k = await ctx.client().devices.createKey(ctx.args[0] ?? '');
      ctx.print(k, () => {
        const note = 'note: the key is shown only this once; store it on the device now\n';
        return (
          formatFields([
            ['id', k.deviceKey.id],
            ['key', k.key],
          ]) + note
        );
      });
    },
  },
  {
    path: ['device', 'key', 'list'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: "List a device's keys.",
    run: async (ctx) => {
      const keys = await ctx.client().devices.keys(ctx.args[0] ?? '');
      ctx.print(listJson(keys), () =>
        formatTable(keys, [
          { header: 'ID', value: (k) => k.id },
          { header: 'CREATED', value: (k) => k.createdAt },
          { header: 'REVOKED', value: (k) => k.revokedAt },
        ]),
      );
    },
  },
  {
    path: ['device', 'key', 'revoke'],
    args: ['ID', 'KEYID'],
    ids: { ID: 'device' },
    summary: 'Revoke a device key.',
    run: async (ctx) => {
      await ctx.client().devices.revokeKey(ctx.args[0] ?? '', ctx.args[1] ?? '');
      ctx.print({ revoked: ctx.args[1] }, () => `revoked key ${ctx.args[1] ?? ''}\n`);
    },
  },
  {
    path: ['device', 'psk', 'set'],
    args: ['ID', 'IDENTITY'],
    ids: { ID: 'device' },
    summary: 'Set the DTLS pre-shared key of a device for CoAP over DTLS (shown only once).',
    options: {
      key: {
        type: 'string',
        value: 'HEX',
        help: 'the key in hex, 16-64 bytes (default: 16 random bytes)',
      },
      bootstrap: {
        type: 'boolean',
        help: 'a factory LwM2M bootstrap credential: only bootstraps, exchanged for a fresh PSK, then refused',
      },
    },
    run: async (ctx) => {
      const key = ctx.str('key');
      const r = await ctx.client().devices.setPsk(ctx.args[0] ?? '', {
        identity: ctx.args[1] ?? '',
        ...(key === undefined ? {} : { key }),
        ...(ctx.flag('bootstrap') ? { bootstrap: true } : {}),
      });
      ctx.print(r, () => {
        const note = 'note: the key is shown only this once; store it on the device now\n';
        return (
          formatFields([
            ['identity', r.identity],
            ['key', r.key],
          ]) + note
        );
      });
    },
  },
  {
    path: ['device', 'psk', 'remove'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: "Remove a device's DTLS pre-shared key (its DTLS sessions are refused).",
    run: async (ctx) => {
      await ctx.client().devices.removePsk(ctx.args[0] ?? '');
      ctx.print(
        { removed: ctx.args[0] },
        () => `removed the pre-shared key of ${ctx.args[0] ?? ''}\n`,
      );
    },
  },
  {
    path: ['device', 'rpk', 'set'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary:
      "Pin a device's ECDSA P-256 public key for CoAP over DTLS with raw public keys (RFC 7250).",
    options: {
      'public-key': { type: 'string', value: 'FILE', help: 'the public key, PEM (required)' },
    },
    run: async (ctx) => {
      const file = ctx.str('public-key');
      if (file === undefined) throw new CliError('--public-key FILE is required');
      const pem = await readFile(resolve(ctx.io.cwd, file), 'utf8');
      const r = await ctx.client().devices.setRpk(ctx.args[0] ?? '', pem);
      ctx.print(r, () => formatFields([['fingerprint', r.fingerprint]]));
    },
  },
  {
    path: ['device', 'rpk', 'remove'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: "Remove a device's pinned raw public key (its next DTLS request is refused).",
    run: async (ctx) => {
      await ctx.client().devices.removeRpk(ctx.args[0] ?? '');
      ctx.print(
        { removed: ctx.args[0] },
        () => `removed the raw public key of ${ctx.args[0] ?? ''}\n`,
      );
    },
  },
  {
    path: ['device', 'lwm2m', 'rebootstrap'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary:
      "Rotate an LwM2M device's PSK: its next Update is refused and it bootstraps again (decision 0045).",
    run: async (ctx) => {
      await ctx.client().devices.rebootstrapLwm2m(ctx.args[0] ?? '');
      ctx.print(
        { rebootstrap: ctx.args[0] },
        () =>
          `asked ${ctx.args[0] ?? ''} to bootstrap again: a fresh PSK is issued at its next Update\n`,
      );
    },
  },
];

/**
 * `bulwark provisioning create|list|get|revoke` (decision 0027): claims for production batches.
 * A claim's token is baked into a batch's image; each device exchanges it on its first boot for
 * its own identity (agent config `enrollment.claim`), under the claim's template and limits.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ClaimView, CreateClaimRequest } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable } from '../output.js';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90d`, `12h`, `3600` (seconds) → seconds. */
function seconds(ctx: Context, flag: string, text: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!m) throw ctx.usage(`--${flag} ${text}: give a duration such as 3600, 12h, 90d or 52w`);
  return Number(m[1]) * UNITS[m[2] || 's']!;
}

/** `ID`, `ID:pub`, `ID:sub` or `ID:pubsub` → a template channel (bare ID: publish). */
function channelOf(ctx: Context, text: string) {
  const [channelId = '', rights = 'pub'] = text.split(':');
  if (!['pub', 'sub', 'pubsub'].includes(rights))
    throw ctx.usage(`--channel ${text}: the rights are pub, sub or pubsub`);
  return { channelId, publish: rights.includes('pub'), subscribe: rights.includes('sub') };
}

const CLAIM_COLUMNS = [
  { header: 'ID', value: (c: ClaimView) => c.id },
  { header: 'NAME', value: (c: ClaimView) => c.name },
  { header: 'TYPE', value: (c: ClaimView) => c.template.type },
  { header: 'USED', value: (c: ClaimView) => `${c.usedCount}/${c.maxDevices}` },
  { header: 'EXPIRES', value: (c: ClaimView) => c.expiresAt },
  { header: 'REVOKED', value: (c: ClaimView) => c.revokedAt },
];

const claimFields = (c: ClaimView): [string, unknown][] => [
  ['id', c.id],
  ['name', c.name],
  ['type', c.template.type],
  ['tags', c.template.tags ?? []],
  ['location', c.template.locationId ?? null],
  ['channels', (c.template.channels ?? []).map((x) => x.channelId)],
  ['used', `${c.usedCount} of ${c.maxDevices}`],
  ['hardware ids', c.hardwareIds === null ? 'any' : `${c.hardwareIds} listed`],
  ['pattern', c.hardwarePattern],
  ['expires', c.expiresAt],
  ['revoked', c.revokedAt],
];

/** `bulwark provisioning …`. */
export const provisioningCommands: Command[] = [
  {
    path: ['provisioning', 'create'],
    args: ['NAME'],
    summary:
      'Create a claim for a production batch: devices exchange its token on first boot for their own identity under this template and these limits.',
    options: {
      type: {
        type: 'string',
        value: 'T',
        help: 'the devices’ type (required); a device claiming another is refused',
      },
      tag: {
        type: 'string',
        multiple: true,
        value: 'X',
        help: 'a tag every device gets (repeatable)',
      },
      location: { type: 'string', value: 'ID', help: 'the location every device is placed in' },
      mode: { type: 'string', value: 'M', help: 'autonomous or controlled (default controlled)' },
      'firmware-type': { type: 'string', value: 'F', help: 'the firmware type the devices run' },
      'name-prefix': {
        type: 'string',
        value: 'P',
        help: 'device names are P + hardware id (default TYPE-)',
      },
      channel: {
        type: 'string',
        multiple: true,
        value: 'ID[:RIGHTS]',
        help: 'connect every device to a channel; RIGHTS pub (default), sub or pubsub (repeatable)',
      },
      max: {
        type: 'string',
        value: 'N',
        help: 'how many devices the claim provisions at most (required)',
      },
      expires: {
        type: 'string',
        value: 'DURATION',
        help: 'how long the token is accepted, e.g. 90d, 12h (required)',
      },
      'hardware-id': {
        type: 'string',
        multiple: true,
        value: 'ID',
        help: 'only this hardware id may claim (repeatable)',
      },
      'hardware-ids-file': {
        type: 'string',
        value: 'FILE',
        help: 'only the hardware ids in FILE (one a line) may claim',
      },
      'hardware-pattern': {
        type: 'string',
        value: 'GLOB',
        help: 'only hardware ids matching GLOB may claim (* and ?), e.g. SN-2026-*',
      },
      'token-file': {
        type: 'string',
        value: 'FILE',
        help: 'write the claim token to FILE (0600, must not exist) instead of printing it',
      },
    },
    run: async (ctx) => {
      const max = ctx.int('max');
      if (max === undefined || max < 1) throw ctx.usage('--max N is required (at least 1)');
      const template: CreateClaimRequest['template'] = { type: ctx.need('type') };
      const tags = ctx.strs('tag');
      if (tags.length > 0) template.tags = tags;
      const location = ctx.str('location');
      if (location !== undefined) template.locationId = location;
      const mode = ctx.choice('mode', ['autonomous', 'controlled'] as const);
      if (mode !== undefined) template.mode = mode;
      const fw = ctx.str('firmware-type');
      if (fw !== undefined) template.firmwareType = fw;
      const prefix = ctx.str('name-prefix');
      if (prefix !== undefined) template.namePrefix = prefix;
      const channels = ctx.strs('channel').map((c) => channelOf(ctx, c));
      if (channels.length > 0) template.channels = channels;
      const ids = [...ctx.strs('hardware-id')];
      const idsFile = ctx.str('hardware-ids-file');
      if (idsFile !== undefined) {
        const text = await readFile(resolve(ctx.io.cwd, idsFile), 'utf8').catch((err: Error) => {
          throw new CliError(`cannot read ${idsFile}: ${err.message}`);
        });
        ids.push(
          ...text
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.startsWith('#')),
        );
      }
      const pattern = ctx.str('hardware-pattern');
      const body: CreateClaimRequest = {
        name: ctx.args[0] ?? '',
        template,
        maxDevices: max,
        ttlSeconds: seconds(ctx, 'expires', ctx.need('expires')),
        ...(ids.length > 0 ? { hardwareIds: [...new Set(ids)] } : {}),
        ...(pattern === undefined ? {} : { hardwarePattern: pattern }),
      };
      const r = await ctx.client().provisioning.createClaim(body);
      const tokenFile = ctx.str('token-file');
      if (tokenFile !== undefined) {
        try {
          writeFileSync(resolve(ctx.io.cwd, tokenFile), `${r.token}\n`, {
            mode: 0o600,
            flag: 'wx',
          });
        } catch (err) {
          throw new CliError(`cannot write ${tokenFile}: ${(err as Error).message}`);
        }
      }
      const shown = tokenFile === undefined ? r : { claim: r.claim, tokenFile };
      ctx.print(shown, () =>
        formatFields([
          ...claimFields(r.claim),
          tokenFile === undefined ? ['token', r.token] : ['token file', tokenFile],
        ]),
      );
    },
  },
  {
    path: ['provisioning', 'list'],
    summary: "List the organization's claims, newest first.",
    run: async (ctx) => {
      const items = await ctx.client().provisioning.listClaims();
      ctx.print({ items, nextCursor: null }, () => formatTable(items, CLAIM_COLUMNS));
    },
  },
  {
    path: ['provisioning', 'get'],
    args: ['ID'],
    summary: 'Show one claim: its template, limits and how many devices it provisioned.',
    run: async (ctx) => {
      const c = await ctx.client().provisioning.getClaim(ctx.args[0] ?? '');
      ctx.print(c, () => formatFields(claimFields(c)));
    },
  },
  {
    path: ['provisioning', 'revoke'],
    args: ['ID'],
    summary:
      'Revoke a claim at once: no further device may claim with it (devices it provisioned keep their identity).',
    run: async (ctx) => {
      const c = await ctx.client().provisioning.revokeClaim(ctx.args[0] ?? '');
      ctx.print(c, () => formatFields(claimFields(c)));
    },
  },
];

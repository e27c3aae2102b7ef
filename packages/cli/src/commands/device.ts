import type { DeviceView, UpdateDeviceRequest } from '@bulwark/protocol';
import { DEVICE_STATES } from '@bulwark/protocol/lite';
import type { RevocationReason } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import { formatFields, formatTable, type Column, listJson } from '../output.js';

/** The columns of a device table. */
export const DEVICE_COLUMNS: Column<DeviceView>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
  { header: 'TYPE', value: (d) => d.type },
  { header: 'STATE', value: (d) => d.state },
  { header: 'MODE', value: (d) => d.mode },
  { header: 'TAGS', value: (d) => d.tags },
  { header: 'LAST SEEN', value: (d) => d.lastSeenAt },
];

const MODES = ['autonomous', 'controlled'] as const;
const REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'superseded',
  'cessationOfOperation',
  'affiliationChanged',
];

/** A device as label/value lines. */
export function deviceFields(d: DeviceView): string {
  return formatFields([
    ['id', d.id],
    ['name', d.name],
    ['type', d.type],
    ['state', d.state],
    ['mode', d.mode],
    ['tags', d.tags],
    ['location', d.locationId],
    ['firmware', d.firmwareType === null ? null : `${d.firmwareType} ${d.firmwareVersion ?? ''}`],
    ['last seen', d.lastSeenAt],
    ['created', d.createdAt],
    ['updated', d.updatedAt],
  ]);
}

const id = (ctx: Context): string => ctx.args[0] ?? '';
const showDevice = (ctx: Context, d: DeviceView): void => ctx.print(d, () => deviceFields(d));

const setState = (path: string, state: 'active' | 'quarantined', summary: string): Command => ({
  path: ['device', path],
  args: ['ID'],
  ids: { ID: 'device' },
  summary,
  run: async (ctx) => showDevice(ctx, await ctx.client().devices.update(id(ctx), { state })),
});

/** `bulwark device list|get|update|quarantine|release|decommission|token|certs|revoke`. */
export const deviceCommands: Command[] = [
  {
    path: ['device', 'list'],
    summary: 'List devices, filtered and paginated.',
    options: {
      type: { type: 'string', value: 'T', help: 'only devices of this type' },
      state: {
        type: 'string',
        value: 'S',
        help: `only devices in this state (${DEVICE_STATES.join(', ')})`,
      },
      tag: {
        type: 'string',
        multiple: true,
        value: 'X',
        help: 'only devices with this tag (repeatable)',
      },
      location: { type: 'string', value: 'ID', help: 'only devices in this location or below it' },
      q: { type: 'string', value: 'TEXT', help: 'only devices whose name contains TEXT' },
      limit: { type: 'string', value: 'N', help: 'page size (1-500, default 50)' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
      all: { type: 'boolean', help: 'follow pages until every device is listed' },
    },
    run: async (ctx) => {
      const tags = ctx.strs('tag');
      const query = {
        type: ctx.str('type'),
        state: ctx.choice('state', DEVICE_STATES),
        tag: tags.length > 0 ? tags : undefined,
        location: ctx.str('location'),
        q: ctx.str('q'),
        limit: ctx.int('limit'),
      };
      const client = ctx.client();
      if (ctx.flag('all')) {
        const items: DeviceView[] = [];
        for await (const d of client.devices.all(query)) items.push(d);
        ctx.print(listJson(items), () => formatTable(items, DEVICE_COLUMNS));
        return;
      }
      const page = await client.devices.list({ ...query, cursor: ctx.str('cursor') });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more =
          page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor}, or --all)\n`;
        return formatTable(page.items, DEVICE_COLUMNS) + more;
      });
    },
  },
  {
    path: ['device', 'get'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: 'Show one device.',
    run: async (ctx) => showDevice(ctx, await ctx.client().devices.get(id(ctx))),
  },
  {
    path: ['device', 'update'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: 'Change a device: name, type, tags (replacing them), mode or location.',
    options: {
      name: { type: 'string', value: 'NAME', help: 'new name' },
      type: { type: 'string', value: 'T', help: 'new type' },
      tag: {
        type: 'string',
        multiple: true,
        value: 'X',
        help: 'the new tags (repeatable; replaces all)',
      },
      mode: { type: 'string', value: 'M', help: `${MODES.join(' or ')}` },
      location: { type: 'string', value: 'ID', help: "the new location, or 'none'" },
    },
    run: async (ctx) => {
      const body: UpdateDeviceRequest = {};
      const name = ctx.str('name');
      const type = ctx.str('type');
      const mode = ctx.choice('mode', MODES);
      const location = ctx.str('location');
      if (name !== undefined) body.name = name;
      if (type !== undefined) body.type = type;
      if (ctx.strs('tag').length > 0) body.tags = ctx.strs('tag');
      if (mode !== undefined) body.mode = mode;
      if (location !== undefined) body.locationId = location === 'none' ? null : location;
      if (Object.keys(body).length === 0)
        throw ctx.usage('nothing to change: give at least one flag');
      showDevice(ctx, await ctx.client().devices.update(id(ctx), body));
    },
  },
  setState(
    'quarantine',
    'quarantined',
    'Quarantine a device: it may connect but not talk to anything.',
  ),
  setState('release', 'active', 'Release a device from quarantine (state active).'),
  {
    path: ['device', 'decommission'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: 'Decommission a device, revoking all its certificates and keys.',
    run: async (ctx) => showDevice(ctx, await ctx.client().devices.decommission(id(ctx))),
  },
  {
    path: ['device', 'token'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: 'Create a one-time enrollment token for a device (see `bulwark device enroll`).',
    options: {
      ttl: { type: 'string', value: 'SECONDS', help: 'lifetime (60-604800, default 3600)' },
    },
    run: async (ctx) => {
      const ttl = ctx.int('ttl');
      const t = await ctx
        .client()
        .devices.createEnrollmentToken(id(ctx), ttl === undefined ? {} : { ttlSeconds: ttl });
      ctx.print(t, () =>
        formatFields([
          ['token', t.token],
          ['device', t.deviceId],
          ['expires', t.expiresAt],
        ]),
      );
    },
  },
  {
    path: ['device', 'certs'],
    args: ['ID'],
    ids: { ID: 'device' },
    summary: "List a device's certificates, newest first.",
    run: async (ctx) => {
      const certs = await ctx.client().devices.certificates(id(ctx));
      ctx.print(listJson(certs), () =>
        formatTable(certs, [
          { header: 'SERIAL', value: (c) => c.serial },
          { header: 'NOT BEFORE', value: (c) => c.notBefore },
          { header: 'NOT AFTER', value: (c) => c.notAfter },
          { header: 'REVOKED', value: (c) => c.revokedAt },
          { header: 'REASON', value: (c) => c.revocationReason },
        ]),
      );
    },
  },
  {
    path: ['device', 'revoke'],
    args: ['ID', 'SERIAL?'],
    ids: { ID: 'device' },
    summary:
      "Revoke one of a device's certificates at once, with those renewed from it (in the CRL); --all revokes every one.",
    options: {
      reason: { type: 'string', value: 'R', help: REASONS.join(', ') },
      all: {
        type: 'boolean',
        help: 'revoke every live certificate of the device (give no SERIAL)',
      },
    },
    run: async (ctx) => {
      const serial = ctx.args[1];
      const reason = ctx.choice('reason', REASONS);
      if (ctx.flag('all')) {
        if (serial !== undefined) throw ctx.usage('give either a SERIAL or --all, not both');
        const revoked = await ctx.client().devices.revokeAllCertificates(id(ctx), reason);
        ctx.print(revoked, () =>
          revoked.length === 0
            ? 'no live certificates to revoke'
            : formatTable(revoked, [
                { header: 'SERIAL', value: (c) => c.serial },
                { header: 'REVOKED', value: (c) => c.revokedAt },
                { header: 'REASON', value: (c) => c.revocationReason },
              ]),
        );
        return;
      }
      if (serial === undefined) throw ctx.usage('missing SERIAL (or --all)');
      const c = await ctx.client().devices.revokeCertificate(id(ctx), serial, reason);
      ctx.print(c, () =>
        formatFields([
          ['serial', c.serial],
          ['revoked', c.revokedAt],
          ['reason', c.revocationReason],
        ]),
      );
    },
  },
];

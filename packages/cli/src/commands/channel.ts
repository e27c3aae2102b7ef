import { readFileSync } from 'node:fs';
import type { ChannelView, ConnectionView, MessageView } from '@bulwark/protocol';
import type { Command } from '../command.js';
import { formatTable, listJson } from '../output.js';

const channelTable = (cs: readonly ChannelView[]) =>
  formatTable(cs, [
    { header: 'ID', value: (c) => c.id },
    { header: 'NAME', value: (c) => c.name },
    { header: 'STORED', value: (c) => (c.persisted ? 'yes' : 'no') },
    {
      header: 'RETENTION',
      value: (c) => (c.retentionDays === null ? '-' : `${c.retentionDays} d`),
    },
    { header: 'FORMAT', value: (c) => c.contentType ?? '-' },
    { header: 'TOPIC', value: (c) => c.topic },
  ]);

/** `--content-type`: a media type, `senml-json`/`senml-cbor` for short, or `none`. */
const CONTENT_TYPE_ALIASES: Record<string, string | null> = {
  'senml-json': 'application/senml+json',
  'senml-cbor': 'application/senml+cbor',
  none: null,
};
const contentTypeOption = {
  type: 'string',
  value: 'TYPE',
  help:
    'payload format of messages that declare none (MQTT 3.1.1 devices): senml-json, ' +
    'senml-cbor, a media type, or none',
} as const;
const contentTypeArg = (v: string | undefined) =>
  v === undefined ? {} : { contentType: v in CONTENT_TYPE_ALIASES ? CONTENT_TYPE_ALIASES[v]! : v };

const connectionTable = (cs: readonly ConnectionView[]) =>
  formatTable(cs, [
    { header: 'CLIENT', value: (c) => c.clientType },
    { header: 'ID', value: (c) => c.clientId },
    { header: 'PUBLISH', value: (c) => (c.publish ? 'yes' : 'no') },
    { header: 'SUBSCRIBE', value: (c) => (c.subscribe ? 'yes' : 'no') },
  ]);

const messageTable = (ms: readonly MessageView[]) =>
  formatTable(ms, [
    { header: 'RECEIVED', value: (m) => m.receivedAt },
    { header: 'PUBLISHER', value: (m) => `${m.publisher.type}:${m.publisher.id}` },
    { header: 'VIA', value: (m) => m.protocol },
    { header: 'SUBTOPIC', value: (m) => m.subtopic || '-' },
    {
      header: 'CONTENT',
      value: (m) =>
        m.senml
          ? m.senml
              .map((r) => `${r.n}=${r.v ?? r.vs ?? r.vb ?? r.vd ?? r.s ?? ''}${r.u ?? ''}`)
              .join(' ')
          : `${m.contentType} (${Buffer.from(m.payload, 'base64').length} B)`,
    },
  ]);

/** `bulwark channel …` and `bulwark messages`. */
export const channelCommands: Command[] = [
  {
    path: ['channel', 'list'],
    summary: "List the organization's channels.",
    options: { limit: { type: 'string', value: 'N', help: 'page size' } },
    run: async (ctx) => {
      const limit = ctx.int('limit');
      const page = await ctx.client().channels.list(limit === undefined ? {} : { limit });
      ctx.print(listJson(page.items, page.nextCursor), () => channelTable(page.items));
    },
  },
  {
    path: ['channel', 'create'],
    args: ['NAME'],
    summary: 'Create a channel (stored unless --no-store).',
    options: {
      'no-store': { type: 'boolean', help: 'deliver only, do not store messages' },
      'retention-days': { type: 'string', value: 'D', help: 'delete stored messages after D days' },
      'content-type': contentTypeOption,
    },
    run: async (ctx) => {
      const days = ctx.int('retention-days');
      const c = await ctx.client().channels.create({
        name: ctx.args[0] ?? '',
        persisted: !ctx.flag('no-store'),
        ...(days === undefined ? {} : { retentionDays: days }),
        ...contentTypeArg(ctx.str('content-type')),
      });
      ctx.print(c, () => channelTable([c]));
    },
  },
  {
    path: ['channel', 'update'],
    args: ['ID'],
    ids: { ID: 'channel' },
    summary: "Change a channel's name, payload format or retention.",
    options: {
      name: { type: 'string', value: 'NAME', help: 'rename it' },
      'content-type': contentTypeOption,
      'retention-days': { type: 'string', value: 'D', help: 'delete stored messages after D days' },
    },
    run: async (ctx) => {
      const days = ctx.int('retention-days');
      const name = ctx.str('name');
      const c = await ctx.client().channels.update(ctx.args[0] ?? '', {
        ...(name === undefined ? {} : { name }),
        ...(days === undefined ? {} : { retentionDays: days }),
        ...contentTypeArg(ctx.str('content-type')),
      });
      ctx.print(c, () => channelTable([c]));
    },
  },
  {
    path: ['channel', 'delete'],
    args: ['ID'],
    ids: { ID: 'channel' },
    summary: 'Delete a channel, its connections and its stored messages.',
    run: async (ctx) => {
      await ctx.client().channels.delete(ctx.args[0] ?? '');
      ctx.print({ deleted: ctx.args[0] }, () => `deleted channel ${ctx.args[0] ?? ''}\n`);
    },
  },
  {
    path: ['channel', 'connect'],
    args: ['CHANNEL', 'CLIENT_ID'],
    ids: { CHANNEL: 'channel' },
    summary: 'Give a device (or, with --api-key, an API key) publish and/or subscribe rights.',
    options: {
      'api-key': { type: 'boolean', help: 'CLIENT_ID is an API key id, not a device id' },
      publish: { type: 'boolean', help: 'may publish' },
      subscribe: { type: 'boolean', help: 'may subscribe' },
    },
    run: async (ctx) => {
      if (!ctx.flag('publish') && !ctx.flag('subscribe'))
        throw ctx.usage('give --publish and/or --subscribe');
      const c = await ctx.client().channels.connect(ctx.args[0] ?? '', {
        clientType: ctx.flag('api-key') ? 'api_key' : 'device',
        clientId: ctx.args[1] ?? '',
        publish: ctx.flag('publish'),
        subscribe: ctx.flag('subscribe'),
      });
      ctx.print(c, () => connectionTable([c]));
    },
  },
  {
    path: ['channel', 'disconnect'],
    args: ['CHANNEL', 'CLIENT_ID'],
    ids: { CHANNEL: 'channel' },
    summary: "Remove a device's (or API key's) rights on a channel.",
    options: { 'api-key': { type: 'boolean', help: 'CLIENT_ID is an API key id' } },
    run: async (ctx) => {
      await ctx
        .client()
        .channels.disconnect(
          ctx.args[0] ?? '',
          ctx.flag('api-key') ? 'api_key' : 'device',
          ctx.args[1] ?? '',
        );
      ctx.print({ disconnected: ctx.args[1] }, () => `disconnected ${ctx.args[1] ?? ''}\n`);
    },
  },
  {
    path: ['channel', 'connections'],
    args: ['CHANNEL'],
    ids: { CHANNEL: 'channel' },
    summary: 'Who may publish or subscribe on a channel.',
    run: async (ctx) => {
      const cs = await ctx.client().channels.connections(ctx.args[0] ?? '');
      ctx.print(listJson(cs), () => connectionTable(cs));
    },
  },
  {
    path: ['messages'],
    args: ['CHANNEL'],
    ids: { CHANNEL: 'channel' },
    summary: 'Stored messages of a channel (oldest first).',
    options: {
      from: { type: 'string', value: 'TIME', help: 'RFC 3339 start' },
      to: { type: 'string', value: 'TIME', help: 'RFC 3339 end' },
      publisher: { type: 'string', value: 'ID', help: 'only this publisher' },
      name: { type: 'string', value: 'N', help: 'only messages with this SenML record name' },
      limit: { type: 'string', value: 'N', help: 'page size' },
    },
    run: async (ctx) => {
      const q: Record<string, string | number> = {};
      for (const k of ['from', 'to', 'publisher', 'name'] as const) {
        const v = ctx.str(k);
        if (v !== undefined) q[k] = v;
      }
      const limit = ctx.int('limit');
      if (limit !== undefined) q['limit'] = limit;
      const page = await ctx.client().channels.messages(ctx.args[0] ?? '', q);
      ctx.print(listJson(page.items, page.nextCursor), () => messageTable(page.items));
    },
  },
  {
    path: ['publish'],
    args: ['CHANNEL'],
    summary: 'Publish as a device over HTTP with its device key (--device ID --device-key K).',
    options: {
      data: { type: 'string', value: 'TEXT', help: 'the payload (or --file)' },
      file: { type: 'string', value: 'PATH', help: 'read the payload from a file' },
      'content-type': { type: 'string', value: 'T', help: 'default application/senml+json' },
      subtopic: { type: 'string', value: 'S', help: 'e.g. room1/temp' },
      device: { type: 'string', value: 'ID', help: 'device id (device-key auth)' },
      'device-key': { type: 'string', value: 'K', help: 'device key (or BULWARK_DEVICE_KEY)' },
    },
    run: async (ctx) => {
      const file = ctx.str('file');
      const data = ctx.str('data');
      if ((file === undefined) === (data === undefined))
        throw ctx.usage('give exactly one of --data or --file');
      const payload =
        file === undefined ? new TextEncoder().encode(data) : new Uint8Array(readFileSync(file));
      const device = ctx.str('device');
      const key = ctx.str('device-key') ?? process.env['BULWARK_DEVICE_KEY'];
      if (device === undefined || key === undefined)
        throw ctx.usage('give --device and --device-key');
      const client = ctx.deviceClient(
        `Basic ${Buffer.from(`${device}:${key}`).toString('base64')}`,
      );
      const r = await client.channels.publish(
        ctx.args[0] ?? '',
        payload,
        ctx.str('content-type') ?? 'application/senml+json',
        ctx.str('subtopic'),
      );
      ctx.print(r, () => `accepted ${r.id} at ${r.receivedAt}\n`);
    },
  },
];

import { BulwarkError } from '@bulwark/protocol';
import { requirePlane } from '@bulwark/core';
import type { Channel, ChannelConnection, Envelope, MessageQuery } from '@bulwark/core';
import type { ChannelView, ConnectionView, MessageView } from '@bulwark/protocol';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { iso } from '../views.js';

type MessagingHandlers = Pick<
  Handlers,
  | 'listChannels'
  | 'createChannel'
  | 'getChannel'
  | 'updateChannel'
  | 'deleteChannel'
  | 'listConnections'
  | 'connectClient'
  | 'disconnectClient'
  | 'listMessages'
  | 'aggregateMessages'
  | 'publishMessage'
  | 'publishSubtopic'
>;

const channelView = (c: Channel): ChannelView => ({
  id: c.id,
  name: c.name,
  persisted: c.persisted,
  retentionDays: c.retentionDays,
  contentType: c.contentType,
  createdAt: iso(c.createdAt),
  topic: `channels/${c.id}/messages`,
});

const connectionView = (c: ChannelConnection & { clientName?: string | null }): ConnectionView => ({
  channelId: c.channelId,
  clientType: c.clientType,
  clientId: c.clientId,
  publish: c.publish,
  subscribe: c.subscribe,
  createdAt: iso(c.createdAt),
  ...(c.clientName !== undefined ? { clientName: c.clientName } : {}),
});

/** An envelope as the API shows it: payload in base64. */
export const messageView = (e: Envelope): MessageView => ({
  id: e.id,
  channelId: e.channelId,
  subtopic: e.subtopic,
  publisher: e.publisher,
  protocol: e.protocol,
  contentType: e.contentType,
  receivedAt: iso(e.receivedAt),
  payload: Buffer.from(e.payload).toString('base64'),
  ...(e.senml ? { senml: e.senml } : {}),
});

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Channels, connections, message queries and device ingest over HTTP. */
export function messagingHandlers(s: HttpServices): MessagingHandlers {
  const ingest = async (
    channelId: string,
    subtopic: string,
    body: unknown,
    contentType: string | undefined,
    ctx: Parameters<Handlers['publishMessage']>[1],
  ) => {
    if (!ctx.device)
      throw new BulwarkError(
        'certificate_required',
        'present the device certificate or the device key',
      );
    // Channel data is closed to a quarantined device (policy.ts): 403 device_quarantined.
    requirePlane(ctx.device.principal, 'channels');
    const d = ctx.device.device;
    const payload = body instanceof Uint8Array ? body : new Uint8Array(0);
    const env = await s.messaging.ingest(
      { type: 'device', id: d.id, orgId: d.orgId },
      {
        channelId,
        subtopic,
        contentType,
        payload,
        protocol: 'http',
      },
    );
    return { id: env.id, receivedAt: iso(env.receivedAt) };
  };
  return {
    listChannels: async ({ query }, ctx) => {
      const page = await s.messaging.listChannels(principalOf(ctx).orgId, {
        limit: query?.limit ?? 50,
        cursor: query?.cursor ?? null,
      });
      return { items: page.items.map(channelView), nextCursor: page.nextCursor };
    },
    createChannel: async ({ body }, ctx) => {
      ctx.audit.detail = { ...body };
      const c = await s.messaging.createChannel(principalOf(ctx).orgId, body);
      ctx.audit.targetId = c.id;
      return channelView(c);
    },
    getChannel: async ({ params }, ctx) =>
      channelView(await s.messaging.getChannel(principalOf(ctx).orgId, params.id)),
    updateChannel: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      return channelView(await s.messaging.updateChannel(principalOf(ctx).orgId, params.id, body));
    },
    deleteChannel: async ({ params }, ctx) =>
      s.messaging.deleteChannel(principalOf(ctx).orgId, params.id),
    listConnections: async ({ params }, ctx) =>
      (await s.messaging.listConnectionsNamed(principalOf(ctx).orgId, params.id)).map(
        connectionView,
      ),
    connectClient: async ({ params, body }, ctx) => {
      ctx.audit.detail = { ...body };
      return connectionView(await s.messaging.connect(principalOf(ctx).orgId, params.id, body));
    },
    disconnectClient: async ({ params }, ctx) => {
      ctx.audit.detail = { clientType: params.clientType, clientId: params.clientId };
      await s.messaging.disconnect(
        principalOf(ctx).orgId,
        params.id,
        params.clientType,
        params.clientId,
      );
    },
    listMessages: async ({ params, query }, ctx) => {
      const q: MessageQuery = {};
      if (query?.from) q.from = Date.parse(query.from);
      if (query?.to) q.to = Date.parse(query.to);
      if (query?.publisher) q.publisherId = query.publisher;
      if (query?.subtopic !== undefined) q.subtopic = query.subtopic;
      if (query?.name) q.senmlName = query.name;
      const page = await s.messaging.query(principalOf(ctx).orgId, params.id, q, {
        limit: query?.limit ?? 50,
        cursor: query?.cursor ?? null,
      });
      return { items: page.items.map(messageView), nextCursor: page.nextCursor };
    },
    aggregateMessages: async ({ params, query }, ctx) => {
      if (!query)
        throw new BulwarkError('validation_failed', 'name, from, to, bucket and fn are required');
      const m = /^(\d+)([smhd])$/.exec(query.bucket)!;
      const bucketMs = Number(m[1]) * UNIT_MS[m[2]!]!;
      const buckets = await s.messaging.aggregate(
        principalOf(ctx).orgId,
        params.id,
        {
          senmlName: query.name,
          from: Date.parse(query.from),
          to: Date.parse(query.to),
          ...(query.publisher ? { publisherId: query.publisher } : {}),
        },
        bucketMs,
        query.fn,
      );
      return buckets.map((b) => ({ start: iso(b.start), value: b.value, count: b.count }));
    },
    publishMessage: async ({ params, body, contentType }, ctx) =>
      ingest(params.id, '', body, contentType, ctx),
    publishSubtopic: async ({ params, body, contentType }, ctx) =>
      ingest(params.id, params['*'] ?? '', body, contentType, ctx),
  };
}

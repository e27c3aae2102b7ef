import type { Channel, ChannelConnection } from '@bulwark/core';
import type { ColumnCodec, ColumnTypes } from './columns.js';

/** A row of `channels`; `persisted` is the dialect's boolean. */
export interface ChannelRow<T extends ColumnTypes> {
  id: string;
  org_id: string;
  name: string;
  persisted: T['bool'];
  retention_days: number | null;
  content_type: string | null;
  created_at: number;
}

/** The `channels` row → Channel mapper for one dialect's codec. */
export const toChannelWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: ChannelRow<T>): Channel => ({
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    persisted: codec.bool(r.persisted),
    retentionDays: r.retention_days,
    contentType: r.content_type,
    createdAt: r.created_at,
  });

/** A row of `channel_connections`; `publish` and `subscribe` are the dialect's booleans. */
export interface ConnectionRow<T extends ColumnTypes> {
  org_id: string;
  channel_id: string;
  client_type: string;
  client_id: string;
  publish: T['bool'];
  subscribe: T['bool'];
  created_at: number;
}

/** The `channel_connections` row → ChannelConnection mapper for one dialect's codec. */
export const toConnectionWith =
  <T extends ColumnTypes>(codec: ColumnCodec<T>) =>
  (r: ConnectionRow<T>): ChannelConnection => ({
    orgId: r.org_id,
    channelId: r.channel_id,
    clientType: r.client_type as ChannelConnection['clientType'],
    clientId: r.client_id,
    publish: codec.bool(r.publish),
    subscribe: codec.bool(r.subscribe),
    createdAt: r.created_at,
  });

import type { BodyOf, Call, QueryOf } from '../types.js';
import { paginate } from '../paginate.js';

/** Channels, who is connected to them, and their stored messages. */
export function channelsApi(call: Call) {
  return {
    /** One page of channels. */
    list: (query: QueryOf<'listChannels'> = {}) => call('listChannels', { query }),
    /** Creates a channel (persisted unless `persisted: false`). */
    create: (body: BodyOf<'createChannel'>) => call('createChannel', { body }),
    /** One channel by id. */
    get: (id: string) => call('getChannel', { params: { id } }),
    /** Renames a channel or changes its storage and retention. */
    update: (id: string, body: BodyOf<'updateChannel'>) =>
      call('updateChannel', { params: { id }, body }),
    /** Deletes a channel with its connections and stored messages. */
    delete: (id: string) => call('deleteChannel', { params: { id } }),
    /** Devices and API keys connected to a channel. */
    connections: (id: string) => call('listConnections', { params: { id } }),
    /** Connects a device or API key with publish and/or subscribe rights (replaces earlier rights). */
    connect: (id: string, body: BodyOf<'connectClient'>) =>
      call('connectClient', { params: { id }, body }),
    /** Removes a client's rights on a channel. */
    disconnect: (id: string, clientType: 'device' | 'api_key', clientId: string) =>
      call('disconnectClient', { params: { id, clientType, clientId } }),
    /** One page of stored messages. */
    messages: (id: string, query: QueryOf<'listMessages'> = {}) =>
      call('listMessages', { params: { id }, query }),
    /** Every stored message matching the query, page by page. */
    allMessages: (id: string, query: QueryOf<'listMessages'> = {}) =>
      paginate((cursor) => call('listMessages', { params: { id }, query: { ...query, cursor } })),
    /** Time-bucket aggregation of a SenML value. */
    aggregate: (id: string, query: QueryOf<'aggregateMessages'>) =>
      call('aggregateMessages', { params: { id }, query }),
    /** Device-side publish over HTTP (authenticate the client with a device certificate or `Basic` device key header). */
    publish: (id: string, payload: Uint8Array, contentType: string, subtopic?: string) =>
      subtopic
        ? call('publishSubtopic', { params: { id, '*': subtopic }, body: payload, contentType })
        : call('publishMessage', { params: { id }, body: payload, contentType }),
  };
}

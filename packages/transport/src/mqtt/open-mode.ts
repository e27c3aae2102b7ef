/**
 * Open mode (DESIGN.md §8): anonymous clients, any topic outside `channels/` and `$devices/`,
 * nothing persisted. For conformance suites and benchmarks on a loopback plain-TCP listener only.
 */
import { randomUUID } from 'node:crypto';
import type { MqttHooks } from './hooks.js';
import { RC } from './reason-codes.js';

/** True for topics open mode keeps closed: the hub's data and management planes. */
function isProtected(topicOrFilter: string): boolean {
  // Shared subscriptions arrive here as the filter inside `$share/{group}/` (SubscribeContext).
  // Filters with a leading wildcard ('#', '+/…') stay allowed: nothing can publish into the
  // protected trees in open mode, and an open-mode engine must not be given hub traffic.
  const t = topicOrFilter;
  return (
    t === 'channels' || t.startsWith('channels/') || t === '$devices' || t.startsWith('$devices/')
  );
}

/**
 * Hooks for open mode: everyone connects, identified by the client id (there is no principal),
 * protected trees are denied. An empty client id gets a fresh one where MQTT lets the server
 * assign it (v5, or v3.1.1 with Clean Session 1 [MQTT-3.1.3-6]); the session key is that id, so
 * a v5 client reconnecting with its Assigned Client Identifier resumes its session.
 */
export function openModeHooks(): MqttHooks {
  return {
    authenticate: (info) => {
      if (info.clientId !== '') return { id: info.clientId, principal: null };
      if (info.protocolVersion === 5 || (info.protocolVersion === 4 && info.clean)) {
        const id = `bulwark-${randomUUID()}`;
        return { id, clientId: id, principal: null };
      }
      // [MQTT-3.1.3-8] No identifier to key a persistent session on: the engine refuses it.
      return { id: '', principal: null };
    },
    authorizePublish: (_client, topic) => (isProtected(topic) ? RC.NOT_AUTHORIZED : 0),
    authorizeSubscribe: (_client, filter, qos) => (isProtected(filter) ? RC.NOT_AUTHORIZED : qos),
  };
}

/**
 * Open mode (DESIGN.md §8): anonymous clients, any topic outside `channels/` and `$devices/`,
 * nothing persisted. For conformance suites and benchmarks on a loopback plain-TCP listener only.
 */
import type { MqttHooks } from './hooks.js';
import { RC } from './reason-codes.js';

/** True for topics open mode keeps closed: the hub's data and management planes. */
function isProtected(topicOrFilter: string): boolean {
  const t = topicOrFilter.startsWith('$share/')
    ? topicOrFilter.slice(topicOrFilter.indexOf('/', 7) + 1)
    : topicOrFilter;
  // Filters with a leading wildcard ('#', '+/…') stay allowed: nothing can publish into the
  // protected trees in open mode, and an open-mode engine must not be given hub traffic.
  return (
    t === 'channels' || t.startsWith('channels/') || t === '$devices' || t.startsWith('$devices/')
  );
}

/** Hooks for open mode: everyone connects (identified by client id), protected trees are denied. */
export function openModeHooks(): MqttHooks {
  return {
    authenticate: (info) => ({ id: info.clientId, principal: null }),
    authorizePublish: (_client, topic) => (isProtected(topic) ? RC.NOT_AUTHORIZED : 0),
    authorizeSubscribe: (_client, filter, qos) => (isProtected(filter) ? RC.NOT_AUTHORIZED : qos),
  };
}

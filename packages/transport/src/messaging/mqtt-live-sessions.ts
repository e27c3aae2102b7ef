import type { LiveSessions } from '@bulwark/core';
import type { MqttEngine } from '../mqtt/engine.js';
import type { ClientIdentity } from '../mqtt/hooks.js';
import type { HubClient, HubMqttHooks } from './mqtt-hooks.js';

/** 0x98 Administrative action: the v5 DISCONNECT reason for a cut by an access change. */
const ADMINISTRATIVE_ACTION = 0x98;

/**
 * The MQTT engine's live sessions (TLS and WebSocket alike) as the access enforcer drives them:
 * `cut` ends the matching principals' connections with DISCONNECT 0x98; `reauthorize` runs every
 * subscription of the matching sessions through the hooks again and drops the refused ones.
 */
export function mqttLiveSessions(engine: MqttEngine, hooks: HubMqttHooks): LiveSessions {
  const cut: LiveSessions['cut'] = (match) => {
    let n = 0;
    for (const c of [...hooks.live.values()]) {
      if (match(c.principal) && engine.disconnect(c.sessionKey, ADMINISTRATIVE_ACTION)) n++;
    }
    return n;
  };
  // TODO(issue 11): the engine's subscription re-authorization (mqtt-engine branch); until then
  // a changed right cuts the session, whose resumption re-subscribes under the new rights.
  const e = engine as MqttEngine & {
    reauthorize?: (pred: (identity: ClientIdentity) => boolean) => Promise<number>;
  };
  return {
    cut,
    reauthorize: async (match) =>
      e.reauthorize
        ? e.reauthorize((identity) => match((identity.principal as HubClient).principal))
        : cut(match, 'rights_changed'),
  };
}

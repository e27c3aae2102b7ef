import type { LiveSessions } from '@bulwark/core';
import type { MqttEngine } from '../mqtt/engine.js';
import type { HubClient } from './mqtt-hooks.js';

/** 0x98 Administrative action: the v5 DISCONNECT reason for a cut by an access change. */
const ADMINISTRATIVE_ACTION = 0x98;

/**
 * Cuts whose session can never be resumed by its principal again: its stored subscriptions and
 * queued messages go with the connection (a revoked API key's session, a decommissioned device's).
 * A revoked certificate or device key keeps the device's session for its next credential.
 */
const ENDS_SESSION = new Set(['api_key_revoked', 'device_decommissioned']);

/**
 * The MQTT engine's live sessions (TLS and WebSocket alike) as the access enforcer drives them:
 * `cut` ends the matching principals' connections with DISCONNECT 0x98 (also one whose resumed
 * session is still being authorized); `reauthorize` runs every subscription of the matching
 * sessions, live or kept offline, through the hooks again and drops the refused ones with their
 * queued messages.
 */
export function mqttLiveSessions(engine: MqttEngine): LiveSessions {
  const principalOf = (identity: { principal: unknown }) =>
    (identity.principal as HubClient).principal;
  return {
    cut: (match, reason) =>
      engine.disconnectWhere((identity) => match(principalOf(identity)), ADMINISTRATIVE_ACTION, {
        endSessions: ENDS_SESSION.has(reason),
      }),
    reauthorize: (match) => engine.reauthorize((identity) => match(principalOf(identity))),
  };
}

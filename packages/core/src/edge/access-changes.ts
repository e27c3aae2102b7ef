/**
 * Access changes reach live sessions (DESIGN.md §4.1): quarantine, decommission, revocation of a
 * certificate, device key or API key, removal of a channel right or a channel — wherever they were
 * made, every node hears the domain event and acts on its own live sessions at once:
 *
 * | event                                   | live sessions of …                 | action        |
 * |-----------------------------------------|------------------------------------|---------------|
 * | certificate.revoked                     | that certificate                   | cut           |
 * | device_key.revoked                      | that key                           | cut           |
 * | device_psk.revoked                      | that PSK identity                  | cut           |
 * | device_rpk.revoked                      | that pinned raw public key         | cut           |
 * | api_key.revoked                         | that API key                       | cut           |
 * | device.state_changed (to/from quarantine, decommissioned) | that device       | cut           |
 * | channel.access_changed                  | that client (or the whole org)     | re-authorize  |
 *
 * A cut device reconnects and is admitted afresh — with its new state, so a quarantined one gets
 * its management plane back and nothing else. Re-authorizing drops the subscriptions and
 * observations the principal may no longer hold, so deliveries already flowing stop.
 */
import type { DomainEvent, DomainEvents, PrincipalRef, StopListening } from '../ports/events.js';
import type { EdgePrincipal } from './principal.js';

/** Which live principals an access change concerns. */
export type PrincipalMatch = (p: EdgePrincipal) => boolean;

/** A transport's live sessions as the enforcer drives them (MQTT engine, CoAP observers …). */
export interface LiveSessions {
  /** Cuts the live connections (and observations) of the matching principals; returns how many. */
  cut(match: PrincipalMatch, reason: string): number;
  /** Re-authorizes what the matching principals hold; drops what is no longer allowed. */
  reauthorize(match: PrincipalMatch): Promise<number>;
}

/** What an access change asks of the live sessions. */
export type AccessAction =
  | { action: 'cut'; match: PrincipalMatch; reason: string }
  | {
      action: 'reauthorize';
      match: PrincipalMatch;
      /** The cached channel rights to forget first. */
      channel: { orgId: string; channelId: string; client: PrincipalRef | null };
    };

const isDevice = (orgId: string, deviceId: string) => (p: EdgePrincipal) =>
  p.type === 'device' && p.orgId === orgId && p.id === deviceId;

/** The action an event calls for, or null (pure: the table above). */
export function accessActionFor(e: DomainEvent): AccessAction | null {
  switch (e.type) {
    case 'certificate.revoked':
      return {
        action: 'cut',
        reason: 'certificate_revoked',
        match: (p) =>
          isDevice(e.orgId, e.deviceId)(p) &&
          p.type === 'device' &&
          p.credential.kind === 'certificate' &&
          p.credential.serial === e.serial,
      };
    case 'device_key.revoked':
      return {
        action: 'cut',
        reason: 'device_key_revoked',
        match: (p) =>
          isDevice(e.orgId, e.deviceId)(p) &&
          p.type === 'device' &&
          p.credential.kind === 'device_key' &&
          p.credential.keyId === e.keyId,
      };
    case 'device_psk.revoked':
      return {
        action: 'cut',
        reason: 'device_psk_revoked',
        match: (p) =>
          isDevice(e.orgId, e.deviceId)(p) &&
          p.type === 'device' &&
          p.credential.kind === 'psk' &&
          p.credential.identity === e.identity,
      };
    case 'device_rpk.revoked':
      return {
        action: 'cut',
        reason: 'device_rpk_revoked',
        match: (p) =>
          isDevice(e.orgId, e.deviceId)(p) &&
          p.type === 'device' &&
          p.credential.kind === 'rpk' &&
          p.credential.fingerprint === e.fingerprint,
      };
    case 'api_key.revoked':
      return {
        action: 'cut',
        reason: 'api_key_revoked',
        match: (p) => p.type === 'api_key' && p.orgId === e.orgId && p.id === e.keyId,
      };
    case 'device.state_changed': {
      const touches = (s: string) => s === 'quarantined' || s === 'decommissioned';
      if (!touches(e.to) && !touches(e.from)) return null;
      return { action: 'cut', reason: `device_${e.to}`, match: isDevice(e.orgId, e.deviceId) };
    }
    case 'channel.access_changed': {
      const c = e.client;
      return {
        action: 'reauthorize',
        channel: { orgId: e.orgId, channelId: e.channelId, client: c },
        match: (p) => p.orgId === e.orgId && (c === null || (p.type === c.type && p.id === c.id)),
      };
    }
    default:
      return null;
  }
}

/** Dependencies of the enforcer. */
export interface AccessEnforcerDeps {
  events: DomainEvents;
  /** The live sessions of every transport on this node. */
  sessions: () => readonly LiveSessions[];
  /** Forgets cached channel rights (MessagingService.forgetRights) before re-authorizing. */
  forgetRights(orgId: string, channelId: string, client: PrincipalRef | null): void;
  /** Told what was done (logs, metrics). */
  onAction?(e: DomainEvent, action: AccessAction['action'], affected: number): void;
  onError?(err: unknown, e: DomainEvent): void;
}

/** The running enforcer of a node. */
export interface AccessEnforcer {
  /** Applies one event to this node's sessions (the listener does; so does a safety-net sweep). */
  apply(e: DomainEvent): void;
  stop: StopListening;
}

/** Listens for access changes from every node and applies them to this node's live sessions. */
export function createAccessEnforcer(d: AccessEnforcerDeps): AccessEnforcer {
  const apply = (e: DomainEvent) => {
    const a = accessActionFor(e);
    if (a === null) return;
    if (a.action === 'cut') {
      let n = 0;
      for (const s of d.sessions()) n += s.cut(a.match, a.reason);
      d.onAction?.(e, 'cut', n);
      return;
    }
    d.forgetRights(a.channel.orgId, a.channel.channelId, a.channel.client);
    void Promise.all(d.sessions().map((s) => s.reauthorize(a.match))).then(
      (counts) =>
        d.onAction?.(
          e,
          'reauthorize',
          counts.reduce((x, y) => x + y, 0),
        ),
      (err: unknown) => d.onError?.(err, e),
    );
  };
  return { apply, stop: d.events.listen(apply) };
}

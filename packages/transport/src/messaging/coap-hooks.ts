import { X509Certificate } from 'node:crypto';
import {
  mayUse,
  requirePlane,
  type Admission,
  type EdgePrincipal,
  type LiveSessions,
  type MessagingService,
} from '@bulwark/core';
import type { CoapClient, CoapHooks, CoapServer } from '../coap/hooks.js';

/** The principal the authenticate hook admitted a CoAP client as. */
const principalOf = (c: CoapClient): EdgePrincipal => c.principal as EdgePrincipal;

/**
 * The hub's CoAP security, on the one admission rule: a device key (the `auth` query until DTLS,
 * issue 17) admits the device; channel data — ingest and observations — is open only as far as its
 * state allows (policy.ts) and its channel rights say. A refused key is an `auth.failed` event.
 */
export function hubCoapHooks(s: {
  admission: Pick<Admission, 'admit'>;
  messaging: Pick<MessagingService, 'canSubscribe' | 'ingest'>;
}): CoapHooks {
  return {
    async authenticate(deviceId, secret, source) {
      const p = await s.admission.admit({
        credential: { kind: 'device_key', deviceId, secret },
        transport: 'coap',
        source,
        claims: { deviceId },
      });
      return { type: 'device', id: p.id, orgId: p.orgId, principal: p };
    },
    // Over DTLS the handshake proved the key; admission says whose it is now (decision 0041).
    async authenticatePsk(identity, ref, source) {
      const p = await s.admission.admit({
        credential: { kind: 'psk', identity, ref },
        transport: 'coap',
        source,
      });
      return { type: 'device', id: p.id, orgId: p.orgId, principal: p };
    },
    // A certificate the DTLS handshake proved: admitted as MQTT's mutual TLS is (decision 0041).
    async authenticateCertificate(der, source) {
      const p = await s.admission.admit({
        credential: { kind: 'certificate', der, claimedOrgId: subjectOrganization(der) },
        transport: 'coap',
        source,
      });
      return { type: 'device', id: p.id, orgId: p.orgId, principal: p };
    },
    // A raw public key the DTLS handshake proved (RFC 7250): whose pin it is now (decision 0041).
    async authenticateRawKey(spki, source) {
      const p = await s.admission.admit({
        credential: { kind: 'rpk', spki },
        transport: 'coap',
        source,
      });
      return { type: 'device', id: p.id, orgId: p.orgId, principal: p };
    },
    async ingest(client, m) {
      requirePlane(principalOf(client), 'channels');
      await s.messaging.ingest(client, { ...m, protocol: 'coap' });
    },
    canSubscribe: async (client, channelId) =>
      mayUse(principalOf(client), 'channels') && s.messaging.canSubscribe(client, channelId),
  };
}

/**
 * The organization a certificate's subject names (its O): a claim only — admission verifies the
 * certificate against that organization's CA. '' when it names none or does not parse.
 */
export function subjectOrganization(der: Uint8Array): string {
  try {
    return /^O=(.*)$/m.exec(new X509Certificate(der).subject)?.[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * CoAP's live sessions as access changes drive them: CoAP has no session to cut — each request is
 * admitted anew — so a cut ends the principal's observations (final 4.01) and re-authorizing asks
 * for each observation's right again (final 4.03 when it went).
 */
export function coapLiveSessions(
  server: Pick<CoapServer, 'endObservations' | 'reauthorize'>,
): LiveSessions {
  return {
    cut: (match) => server.endObservations((c) => match(principalOf(c)), '4.01'),
    reauthorize: (match) => server.reauthorize((c) => match(principalOf(c))),
  };
}

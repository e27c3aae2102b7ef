/**
 * DTLS handshake failures are authentication failures (decision 0041): an unknown PSK identity or
 * a Finished that does not verify (the wrong key) goes to the one admission rule's failure throttle
 * and becomes the same `auth.failed` event a refused MQTT password does; a source over the
 * throttle's limit has its ClientHellos dropped until its block ends. One wiring for every DTLS
 * endpoint of the hub (CoAP and LwM2M).
 */
import type { DtlsAuthFailure } from '@bulwark/transport';
import type { HubServices } from './services.js';

/** The hooks a DTLS server takes to count, report and throttle failed handshakes. */
export function dtlsAuthHooks(services: Pick<HubServices, 'admission' | 'devicePsks'>): {
  retryAfterMs(address: string): number;
  onAuthFailure(f: DtlsAuthFailure): void;
} {
  return {
    retryAfterMs: (address) => services.admission.handshakeRetryAfterMs('coap', address, 'psk'),
    onAuthFailure: (f) => {
      // The organization is known when the identity is (a wrong key for a real identity).
      const orgOf =
        f.reason === 'wrong_key'
          ? services.devicePsks.resolve(f.identity).then((p) => p?.orgId ?? null)
          : Promise.resolve(null);
      void orgOf
        .catch(() => null)
        .then((orgId) =>
          services.admission.handshakeFailed({
            transport: 'coap',
            source: f.peer.address,
            credential: { kind: 'psk', identity: f.identity, ref: '' },
            reason: 'unknown',
            orgId,
          }),
        )
        .catch(() => undefined);
    },
  };
}

import type { Clock } from '../ports/clock.js';
import type { DomainEvents, StopListening } from '../ports/events.js';
import type { PkiService } from '../pki/pki-service.js';

/**
 * Turns the PKI service's issuances and revocations into domain events (so every node cuts the
 * sessions a revocation concerns, and monitoring sees renewals outside a device's schedule).
 */
export function bridgePkiEvents(
  pki: PkiService,
  events: DomainEvents,
  clock: Clock,
): StopListening {
  const onCert: Parameters<typeof pki.on<'certificate-revoked'>>[1] = (c) =>
    events.emit({
      type: 'certificate.revoked',
      orgId: c.orgId,
      at: c.revokedAt ?? clock.now(),
      deviceId: c.deviceId,
      serial: c.serial,
      reason: c.revocationReason,
    });
  const onKey: Parameters<typeof pki.on<'device-key-revoked'>>[1] = (k) =>
    events.emit({
      type: 'device_key.revoked',
      orgId: k.orgId,
      at: k.revokedAt ?? clock.now(),
      deviceId: k.deviceId,
      keyId: k.id,
    });
  const onIssued: Parameters<typeof pki.on<'certificate-issued'>>[1] = (c, renewedFrom) =>
    events.emit({
      type: renewedFrom === null ? 'certificate.issued' : 'certificate.renewed',
      orgId: c.orgId,
      at: c.createdAt,
      deviceId: c.deviceId,
      serial: c.serial,
      reason: renewedFrom === null ? null : `renewed from ${renewedFrom}`,
    });
  pki.on('certificate-issued', onIssued);
  pki.on('certificate-revoked', onCert);
  pki.on('device-key-revoked', onKey);
  return () => {
    pki.off('certificate-issued', onIssued);
    pki.off('certificate-revoked', onCert);
    pki.off('device-key-revoked', onKey);
  };
}

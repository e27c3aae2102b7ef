/**
 * Claim-based provisioning (decision 0027), as AWS IoT fleet provisioning by claim and balena's
 * provisioning keys do it: an organization makes a claim — a token baked into a production batch,
 * with a template (type, tags, location, mode, channels) and limits (count, expiry, allowed
 * hardware ids) — and each device of the batch, on its first boot, generates its own key and
 * exchanges the token, its hardware id and a CSR for a new device record and its certificate.
 *
 * A hardware id provisions once. A second claim with the same hardware id is refused
 * (`hardware_id_claimed`) unless it proves the same key (the same CSR public key): that is the
 * device retrying a claim whose answer it lost, and it gets the same device and certificate back,
 * counting nothing. Failures are throttled per source address before the token is looked up, and
 * successes per claim, so neither a flood of guesses nor a leaked token can mint at will.
 */
import { BulwarkError, type ClaimDeviceRequest, type CreateClaimRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { ProvisioningClaim } from '../ports/provisioning.js';
import type { Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { LocationService } from '../devices/location-service.js';
import type { MessagingService } from '../messaging/messaging-service.js';
import type { Enrollment, PkiService } from '../pki/pki-service.js';
import { FailureThrottle, type ThrottlePolicy } from '../identity/failure-throttle.js';
import { randomToken, sha256Hex } from '../shared/hash.js';
import { newId } from '../shared/ids.js';
import { hardwareAllowed } from './hardware-match.js';

/** Limits of claim-based provisioning. */
export interface ProvisioningConfig {
  /** Failed claims per source address before it must wait (with a doubling backoff). */
  failures: ThrottlePolicy;
  /** Devices one claim provisions per minute at most (a leaked token mints no faster). */
  claimsPerMinute: number;
}

export const DEFAULT_PROVISIONING_CONFIG: ProvisioningConfig = {
  // Twenty failures in ten minutes is past any honest retrying of a misconfigured device (its
  // backoff starts at seconds); 10,000 remembered sources are ~1 MiB.
  failures: {
    threshold: 20,
    windowMs: 10 * 60_000,
    baseBlockMs: 30_000,
    maxBlockMs: 15 * 60_000,
    maxKeys: 10_000,
  },
  // Ten a second: a factory line or a mass first boot after delivery, not a minting machine.
  claimsPerMinute: 600,
};

/** What a claim attempt established, for the audit log (filled as far as it got). */
export interface ClaimAttempt {
  orgId?: string;
  claimId?: string;
  deviceId?: string;
  /** `retry`: the same hardware id proved the same key and got its device back. */
  outcome?: 'created' | 'retry';
  /** Template channels that could not be connected (deleted since the claim was made). */
  channelErrors?: string[];
}

/** Claims: made, listed and revoked by operators; exchanged by devices. */
export class ClaimService {
  readonly #failures: FailureThrottle;
  readonly #rate = new Map<string, { windowStart: number; count: number }>();

  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      locations: LocationService;
      pki: PkiService;
      messaging: Pick<MessagingService, 'connect' | 'getChannel'>;
      config: ProvisioningConfig;
    },
  ) {
    this.#failures = new FailureThrottle(d.config.failures, d.clock);
  }

  /** A new claim; the token is shown once and stored as a hash. */
  async create(
    orgId: string,
    createdBy: string | null,
    req: CreateClaimRequest,
  ): Promise<{ claim: ProvisioningClaim; token: string }> {
    const t = req.template;
    // The template must be satisfiable now: its location and channels exist in this organization.
    if (t.locationId) await this.d.locations.get(orgId, t.locationId);
    for (const c of t.channels ?? []) await this.d.messaging.getChannel(orgId, c.channelId);
    const now = this.d.clock.now();
    const token = `bwc_${randomToken(32)}`;
    const claim: ProvisioningClaim = {
      id: newId(now),
      orgId,
      name: req.name,
      tokenHash: sha256Hex(token),
      template: { ...t },
      maxDevices: req.maxDevices,
      usedCount: 0,
      hardwareIds: req.hardwareIds ?? null,
      hardwarePattern: req.hardwarePattern ?? null,
      expiresAt: now + req.ttlSeconds * 1000,
      revokedAt: null,
      createdBy,
      createdAt: now,
    };
    await this.d.storage.provisioning.createClaim(claim);
    return { claim, token };
  }

  async get(orgId: string, id: string): Promise<ProvisioningClaim> {
    const c = await this.d.storage.provisioning.get(orgId, id);
    if (!c) throw new BulwarkError('not_found', 'no such claim in this organization');
    return c;
  }

  list(orgId: string): Promise<ProvisioningClaim[]> {
    return this.d.storage.provisioning.list(orgId);
  }

  /** Revokes a claim at once (devices it already provisioned keep their identity). */
  async revoke(orgId: string, id: string): Promise<ProvisioningClaim> {
    const c = await this.get(orgId, id);
    if (c.revokedAt !== null) throw new BulwarkError('conflict', 'the claim is already revoked');
    if (!(await this.d.storage.provisioning.revoke(orgId, id, this.d.clock.now())))
      throw new BulwarkError('conflict', 'the claim is already revoked');
    return this.get(orgId, id);
  }

  /**
   * A device's first boot: token + hardware id + CSR → a device under the claim's template and
   * its certificate. `seen` is filled with what was established, for the audit log.
   */
  async claim(
    req: ClaimDeviceRequest,
    source: string | null,
    seen: ClaimAttempt,
  ): Promise<Enrollment> {
    const key = source ?? 'unknown';
    const wait = this.#failures.retryAfterMs([key]);
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      throw new BulwarkError(
        'rate_limited',
        `too many failed claims from this address; try again in ${retryAfter} s`,
        { extra: { retryAfter } },
      );
    }
    try {
      return await this.#claim(req, seen);
    } catch (err) {
      // Every refusal counts against the source, a bad CSR too: a flood costs the flooder.
      if (err instanceof BulwarkError && err.kind !== 'internal' && err.kind !== 'rate_limited')
        this.#failures.failed([key]);
      throw err;
    }
  }

  async #claim(req: ClaimDeviceRequest, seen: ClaimAttempt): Promise<Enrollment> {
    const { storage, clock, pki } = this.d;
    const claim = await storage.provisioning.getByTokenHash(sha256Hex(req.token));
    if (!claim) throw new BulwarkError('claim_invalid');
    seen.orgId = claim.orgId;
    seen.claimId = claim.id;
    const now = clock.now();
    if (claim.revokedAt !== null) throw new BulwarkError('claim_revoked');
    if (claim.expiresAt <= now) throw new BulwarkError('claim_expired');
    const t = claim.template;
    if (req.type !== undefined && req.type !== t.type)
      throw new BulwarkError(
        'claim_type_mismatch',
        `this claim provisions devices of type '${t.type}', not '${req.type}'`,
      );
    if (!hardwareAllowed(claim, req.hardwareId))
      throw new BulwarkError(
        'hardware_id_not_allowed',
        `hardware id '${req.hardwareId}' is not admitted by this claim`,
      );
    const known = await storage.provisioning.getHardware(claim.orgId, req.hardwareId);
    if (known) return this.#retry(known, req, seen);
    if (claim.usedCount >= claim.maxDevices) throw new BulwarkError('claim_exhausted');
    this.#countRate(claim, now);

    const device: Device = {
      id: newId(now),
      orgId: claim.orgId,
      name: `${t.namePrefix ?? `${t.type}-`}${req.hardwareId}`,
      type: t.type,
      firmwareType: t.firmwareType ?? null,
      firmwareVersion: null,
      tags: t.tags ?? [],
      mode: t.mode ?? 'controlled',
      // The certificate is stored with the device: it is enrolled from the start.
      state: 'active',
      locationId: t.locationId ?? null,
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const cert = await pki.certify(device, req.csr);
    const outcome = await storage.provisioning.claimDevice({
      device,
      cert,
      hardware: {
        orgId: claim.orgId,
        hardwareId: req.hardwareId,
        claimId: claim.id,
        deviceId: device.id,
        spkiSha256: cert.spkiSha256,
        serial: cert.serial,
        createdAt: now,
      },
    });
    switch (outcome) {
      case 'revoked':
        throw new BulwarkError('claim_revoked');
      case 'expired':
        throw new BulwarkError('claim_expired');
      case 'exhausted':
        throw new BulwarkError('claim_exhausted');
      case 'hardware_taken': {
        // Another claim with this hardware id won a race: this one is its retry, or refused.
        const won = await storage.provisioning.getHardware(claim.orgId, req.hardwareId);
        if (!won) throw new BulwarkError('hardware_id_claimed');
        return this.#retry(won, req, seen);
      }
      case 'created':
        break;
    }
    seen.deviceId = device.id;
    seen.outcome = 'created';
    const errors: string[] = [];
    for (const c of t.channels ?? []) {
      try {
        await this.d.messaging.connect(claim.orgId, c.channelId, {
          clientType: 'device',
          clientId: device.id,
          publish: c.publish,
          subscribe: c.subscribe,
        });
      } catch (err) {
        errors.push(`${c.channelId}: ${(err as Error).message}`);
      }
    }
    if (errors.length > 0) seen.channelErrors = errors;
    return pki.provisioned(device, cert, true);
  }

  /** The same hardware id again: the same key gets its device back; another key is refused. */
  async #retry(
    known: { orgId: string; deviceId: string; spkiSha256: string; serial: string },
    req: ClaimDeviceRequest,
    seen: ClaimAttempt,
  ): Promise<Enrollment> {
    const { storage, pki, clock } = this.d;
    const info = await pki.inspectCsr(req.csr);
    const refused = () =>
      new BulwarkError(
        'hardware_id_claimed',
        `hardware id '${req.hardwareId}' was already provisioned with another key`,
      );
    if (info.spkiSha256 !== known.spkiSha256) throw refused();
    const device = await storage.devices.get(known.orgId, known.deviceId);
    const cert = await storage.pki.getCertificate(known.orgId, known.serial);
    if (
      !device ||
      device.state === 'decommissioned' ||
      !cert ||
      cert.revokedAt !== null ||
      cert.notAfter <= clock.now()
    )
      throw new BulwarkError(
        'hardware_id_claimed',
        `hardware id '${req.hardwareId}' was provisioned before and its certificate is no longer live: the device renews it, or an operator provisions it again`,
      );
    seen.deviceId = device.id;
    seen.outcome = 'retry';
    return pki.provisioned(device, cert, false);
  }

  /** Counts a claim in its per-minute window, refusing past the limit. */
  #countRate(claim: ProvisioningClaim, now: number): void {
    const w = this.#rate.get(claim.id);
    if (!w || now - w.windowStart >= 60_000) {
      // The map holds claims seen in the last minute; a claim not seen for a minute is dropped.
      for (const [id, x] of this.#rate) if (now - x.windowStart >= 60_000) this.#rate.delete(id);
      this.#rate.set(claim.id, { windowStart: now, count: 1 });
      return;
    }
    if (w.count >= this.d.config.claimsPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((w.windowStart + 60_000 - now) / 1000));
      throw new BulwarkError(
        'rate_limited',
        `this claim provisions at most ${this.d.config.claimsPerMinute} devices a minute; try again in ${retryAfter} s`,
        { extra: { retryAfter } },
      );
    }
    w.count += 1;
  }
}

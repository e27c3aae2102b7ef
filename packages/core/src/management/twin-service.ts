import {
  BulwarkError,
  type BulkDeviceFilter as BulkFilter,
  type ReportedTwin,
  type TwinState,
} from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type { DesiredTwinRecord, ReportedTwinRecord } from '../ports/management.js';
import type { Device } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { DomainEvents } from '../ports/events.js';
import { forEachMatchingDevice } from './bulk.js';
import type { Actor, ManagementSignals } from './signals.js';
import { checkTwinState, jsonEqual, mergePatch, twinDelta } from './twin-json.js';

/** A device's twin as the API shows it. */
export interface Twin {
  deviceId: string;
  /** Version 0 with an empty state and no time: never set. */
  desired: { version: number; state: TwinState; updatedAt: number | null };
  reported: ReportedTwinRecord | null;
  delta: TwinState;
  inSync: boolean;
}

/** A compare-and-set that lost a race is retried this often before giving up with a conflict. */
const CAS_ATTEMPTS = 5;

/**
 * The device twin (DESIGN.md §3): the desired state, changed by RFC 7386 merge patches with a
 * version that grows by one per change, and the state the device reports. Every desired change is
 * audited and signalled so the device plane can push it.
 */
export class TwinService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      devices: DeviceService;
      audit: AuditService;
      signals: ManagementSignals;
      /** Told every stored change (`twin.desired_changed`, `twin.reported_changed`). */
      events?: DomainEvents;
    },
  ) {}

  /** The twin of a device (not_found for another organization's device). */
  async get(orgId: string, deviceId: string): Promise<Twin> {
    await this.d.devices.get(orgId, deviceId);
    return this.#view(
      deviceId,
      await this.d.storage.twins.getDesired(orgId, deviceId),
      await this.d.storage.twins.getReported(orgId, deviceId),
    );
  }

  /** The desired versions of these devices (absent: never set), for the device plane's sweep. */
  desiredVersions(orgId: string, deviceIds: readonly string[]): Promise<Map<string, number>> {
    return this.d.storage.twins.desiredVersions(orgId, deviceIds);
  }

  /** The stored desired twin, or undefined when never set (for delivery). */
  desired(orgId: string, deviceId: string): Promise<DesiredTwinRecord | undefined> {
    return this.d.storage.twins.getDesired(orgId, deviceId);
  }

  /**
   * Applies a merge patch to the desired state. With `ifVersion` the patch applies only to that
   * version (else `twin_version_conflict`); without it a concurrent change is merged over. A patch
   * that changes nothing keeps the version.
   */
  async patchDesired(
    orgId: string,
    deviceId: string,
    patch: { [key: string]: unknown },
    opts: { ifVersion?: number; actor: Actor },
  ): Promise<Twin & { changed: boolean }> {
    const device = await this.d.devices.get(orgId, deviceId);
    const r = await this.#patch(device, patch, opts);
    const twin = this.#view(
      deviceId,
      r.desired,
      await this.d.storage.twins.getReported(orgId, deviceId),
    );
    return { ...twin, changed: r.changed };
  }

  /** Applies one merge patch to every device matching the filter (decommissioned ones never). */
  async bulkPatchDesired(
    orgId: string,
    filter: BulkFilter,
    patch: { [key: string]: unknown },
    actor: Actor,
  ): Promise<{ matched: number; updated: number }> {
    checkTwinState(patch, 'the patch');
    let matched = 0;
    let updated = 0;
    await forEachMatchingDevice(this.d.devices, orgId, filter, async (device) => {
      matched++;
      if ((await this.#patch(device, patch, { actor })).changed) updated++;
    });
    return { matched, updated };
  }

  /**
   * Stores a device's report unless it is stale (its version not above the stored one's).
   * Returns whether it was stored.
   */
  async acceptReported(orgId: string, deviceId: string, report: ReportedTwin): Promise<boolean> {
    const at = this.d.clock.now();
    const stored = await this.d.storage.twins.putReported({
      orgId,
      deviceId,
      version: report.version,
      desiredVersion: report.desiredVersion,
      state: report.state,
      errors: report.errors,
      updatedAt: at,
    });
    if (stored)
      this.d.events?.emit({
        type: 'twin.reported_changed',
        orgId,
        deviceId,
        version: report.version,
        at,
      });
    return stored;
  }

  async #patch(
    device: Device,
    patch: { [key: string]: unknown },
    opts: { ifVersion?: number; actor: Actor },
  ): Promise<{ desired: DesiredTwinRecord | undefined; changed: boolean }> {
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    checkTwinState(patch, 'the patch');
    const { orgId, id: deviceId } = device;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = await this.d.storage.twins.getDesired(orgId, deviceId);
      const version = cur?.version ?? 0;
      if (opts.ifVersion !== undefined && opts.ifVersion !== version) {
        throw new BulwarkError(
          'twin_version_conflict',
          `the desired twin is at version ${version}, not ${opts.ifVersion}`,
          { extra: { version } },
        );
      }
      const state = mergePatch(cur?.state ?? {}, patch) as TwinState;
      if (cur && jsonEqual(state, cur.state)) return { desired: cur, changed: false };
      if (!cur && Object.keys(state).length === 0) return { desired: undefined, changed: false };
      checkTwinState(state, 'the desired state after the patch');
      const next: DesiredTwinRecord = {
        orgId,
        deviceId,
        version: version + 1,
        state,
        updatedAt: this.d.clock.now(),
      };
      if (await this.d.storage.twins.putDesired(next, version)) {
        await this.d.audit.record({
          orgId,
          actorType: opts.actor.type,
          actorId: opts.actor.id,
          action: 'twin.desired.change',
          targetType: 'device',
          targetId: deviceId,
          source: opts.actor.source ?? null,
          result: 'success',
          detail: { patch, fromVersion: version, toVersion: next.version },
        });
        this.d.signals.emit('desiredChanged', next);
        this.d.events?.emit({
          type: 'twin.desired_changed',
          orgId,
          deviceId,
          version: next.version,
          at: next.updatedAt,
        });
        return { desired: next, changed: true };
      }
      if (opts.ifVersion !== undefined) {
        throw new BulwarkError('twin_version_conflict', 'the desired twin changed meanwhile');
      }
    }
    throw new BulwarkError('twin_version_conflict', 'the desired twin keeps changing; try again');
  }

  #view(
    deviceId: string,
    desired: DesiredTwinRecord | undefined,
    reported: ReportedTwinRecord | undefined,
  ): Twin {
    const state = desired?.state ?? {};
    const version = desired?.version ?? 0;
    const delta = twinDelta(state, reported?.state);
    const inSync =
      Object.keys(delta).length === 0 &&
      (reported?.errors.length ?? 0) === 0 &&
      (reported?.desiredVersion ?? 0) >= version;
    return {
      deviceId,
      desired: { version, state, updatedAt: desired?.updatedAt ?? null },
      reported: reported ?? null,
      delta,
      inSync,
    };
  }
}

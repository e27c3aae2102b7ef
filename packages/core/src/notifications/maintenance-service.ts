/**
 * Maintenance windows (decision 0030, amendment): an operator with `notifications:manage` schedules
 * a period — organization-wide or on a location subtree, optionally for some alert kinds only —
 * during which alerts are still raised and recorded but their notifications and escalations are
 * held back (the delivery worker does the holding: `maintenance.ts`).
 */
import {
  BulwarkError,
  MAX_WINDOW_DAYS,
  type CreateMaintenanceWindowRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { MaintenanceWindowRecord } from '../ports/notifications.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';

/** Scheduled and active windows per organization: more is a mistake or abuse. */
export const MAX_OPEN_WINDOWS = 200;

const DAY_MS = 86_400_000;
/** A start a little in the past is "now" as the caller's clock saw it; more is a mistake. */
const PAST_START_SLACK_MS = 5 * 60_000;

const invalid = (why: string) => new BulwarkError('maintenance_window_invalid', why);

/** A window's status at `now`. */
export const windowStatus = (
  w: MaintenanceWindowRecord,
  now: number,
): 'scheduled' | 'active' | 'ended' =>
  now < w.startsAt ? 'scheduled' : now < w.endsAt ? 'active' : 'ended';

export class MaintenanceWindowService {
  constructor(
    private readonly d: {
      storage: Pick<Storage, 'notifications' | 'locations'>;
      clock: Clock;
    },
  ) {}

  now(): number {
    return this.d.clock.now();
  }

  /** Scheduled and active windows (and, with `includeEnded`, the latest ended ones). */
  async list(orgId: string, opts: { includeEnded?: boolean } = {}) {
    const now = this.d.clock.now();
    return this.d.storage.notifications.listWindows(
      orgId,
      opts.includeEnded === true ? {} : { endsAfter: now },
      MAX_OPEN_WINDOWS,
    );
  }

  async get(orgId: string, id: string): Promise<MaintenanceWindowRecord> {
    const w = await this.d.storage.notifications.getWindow(orgId, id);
    if (!w) throw new BulwarkError('not_found', 'no such maintenance window in this organization');
    return w;
  }

  /** `createdBy`: `user:<id>` or `api_key:<id>`. */
  async create(
    orgId: string,
    req: CreateMaintenanceWindowRequest,
    createdBy: string,
  ): Promise<MaintenanceWindowRecord> {
    const now = this.d.clock.now();
    const startsAt = req.startsAt === undefined ? now : Date.parse(req.startsAt);
    const endsAt = Date.parse(req.endsAt);
    if (!Number.isFinite(startsAt) || !Number.isFinite(endsAt))
      throw invalid('startsAt and endsAt must be dates');
    if (endsAt <= now) throw invalid('endsAt is in the past');
    if (endsAt <= startsAt) throw invalid('endsAt must be after startsAt');
    if (startsAt < now - PAST_START_SLACK_MS)
      throw invalid('startsAt is in the past (leave it out to start now)');
    if (endsAt - startsAt > MAX_WINDOW_DAYS * DAY_MS)
      throw invalid(`a window lasts at most ${MAX_WINDOW_DAYS} days`);
    const locationId = req.locationId ?? null;
    if (locationId !== null && !(await this.d.storage.locations.get(orgId, locationId)))
      throw invalid('no such location in this organization');
    const open = await this.d.storage.notifications.listWindows(
      orgId,
      { endsAfter: now },
      MAX_OPEN_WINDOWS,
    );
    if (open.length >= MAX_OPEN_WINDOWS)
      throw invalid(`an organization has at most ${MAX_OPEN_WINDOWS} scheduled or active windows`);
    const w: MaintenanceWindowRecord = {
      id: newId(now),
      orgId,
      locationId,
      kinds: [...new Set(req.kinds ?? [])],
      startsAt,
      endsAt,
      reason: req.reason,
      createdBy,
      createdAt: now,
    };
    await this.d.storage.notifications.createWindow(w);
    return w;
  }

  async delete(orgId: string, id: string): Promise<MaintenanceWindowRecord> {
    const w = await this.get(orgId, id);
    if (!(await this.d.storage.notifications.deleteWindow(orgId, id)))
      throw new BulwarkError('not_found', 'no such maintenance window in this organization');
    return w;
  }
}

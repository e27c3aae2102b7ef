/**
 * Storage of central device logs (decision 0032): the records devices ship on
 * `$devices/{id}/logs`, kept per device with retention, queried by time, level, source and text.
 */
import type { Page, PageRequest } from './records.js';

/** One stored log record. */
export interface DeviceLogRow {
  /** UUIDv7 made when the hub stored it: records sort by arrival. */
  id: string;
  orgId: string;
  deviceId: string;
  /** Device clock, epoch ms. */
  ts: number;
  /** Hub clock, epoch ms. */
  receivedAt: number;
  /** Syslog severity: 0 emergency … 7 debug (protocol's LOG_LEVELS index). */
  priority: number;
  source: string;
  message: string;
  fields: { [key: string]: string | number | boolean } | null;
}

/** What a query filters on in the database (a regular expression is applied by the service). */
export interface DeviceLogFilter {
  /** `ts` ≥ since (ms). */
  since?: number;
  /** `ts` < until (ms). */
  until?: number;
  /** priority ≤ this (this level and more severe). */
  maxPriority?: number;
  source?: string;
  /** The message contains this text, compared lower-cased. */
  contains?: string;
}

/** A page request over a device's records in arrival order. */
export interface DeviceLogPageRequest extends PageRequest {
  order: 'newest' | 'oldest';
}

export interface DeviceLogStore {
  /** Stores one batch in one statement (all of it or none of it). */
  append(rows: readonly DeviceLogRow[]): Promise<void>;
  /** A device's records, filtered, in arrival (id) order; the cursor is the last id returned. */
  list(
    orgId: string,
    deviceId: string,
    filter: DeviceLogFilter,
    page: DeviceLogPageRequest,
  ): Promise<Page<DeviceLogRow>>;
  /** The records stored after `afterId` (all, when null), oldest first, at most `limit`. */
  after(
    orgId: string,
    deviceId: string,
    afterId: string | null,
    filter: DeviceLogFilter,
    limit: number,
  ): Promise<DeviceLogRow[]>;
  /** The id of the device's newest record. */
  lastId(orgId: string, deviceId: string): Promise<string | undefined>;
  /** Hub-wide retention: deletes up to `limit` records received before `before`; returns how many. */
  pruneReceivedBefore(before: number, limit: number): Promise<number>;
  /** Deletes all but the device's newest `keep` records; returns how many went. */
  pruneDevice(orgId: string, deviceId: string, keep: number): Promise<number>;
}

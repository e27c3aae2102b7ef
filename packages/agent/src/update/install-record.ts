/**
 * The persisted install record of the Installer (`update/install.json`): its states, its fields,
 * and the parser that refuses a damaged record.
 */
import type { DeltaSaving } from '@bulwark/protocol';
import { checkManifest, otherSlot, type SlotManifest, type SlotName } from './slots.js';

/** A release as the (verified) release metadata describes it. */
export type Release = SlotManifest;

/** The persisted states. */
export type InstallStateName =
  | 'idle'
  | 'downloading'
  | 'downloaded'
  | 'verifying'
  | 'installing'
  | 'rebooting'
  | 'confirming'
  | 'committed'
  | 'failed'
  | 'rolled_back'
  | 'canceled';

/** States in which no install is in progress (a new `begin` is allowed). */
export const SETTLED: readonly InstallStateName[] = [
  'idle',
  'committed',
  'failed',
  'rolled_back',
  'canceled',
];

/** One entry of the state history. */
export interface InstallHistoryEntry {
  state: InstallStateName;
  at: number;
  reason?: string;
}

/** The persisted install record. */
export interface InstallRecord {
  state: InstallStateName;
  release?: Release;
  /** The slot being written (the inactive one at `begin`). */
  target?: SlotName;
  /** The good slot the device ran at `begin`; the fallback until `target` is committed. */
  previous?: SlotName;
  /** Image bytes durably written to `target` (a resumed download continues here). */
  offset: number;
  /**
   * Where the image's durably written bytes came from, over every attempt of this download (a cut
   * connection, a restart): `downloadedBytes` fetched, `reusedBytes` copied from the device's slots
   * (delta, 0010), `totalBytes` the image length. Counted with the offset, in the same write, so
   * bytes fetched again after a power cut are not counted twice. Absent until the first write that
   * says where its bytes came from.
   */
  delta?: DeltaSaving;
  /**
   * The delta-built image failed its sha256 check, and the download started again as the plain
   * full image (once: a second mismatch fails the install `hash_mismatch`).
   */
  fullImage?: boolean;
  /** Why the last install failed or was rolled back. */
  reason?: string;
  /**
   * A machine code for `reason` (`hash_mismatch`, `length_mismatch`, `bad_signature`,
   * `health_check_failed`, `boot_failed`, `canceled` …), as the hub's job history takes it.
   */
  code?: string;
  /**
   * What the caller stored with `begin` (the agent: its job id, metadata, image path), persisted
   * atomically with the install so a restart knows which job a state belongs to.
   */
  job?: Record<string, unknown>;
  /** Anti-rollback floor: the release counter of the last committed release. */
  committedCounter: number;
  /** The boot id when the boot pointer was switched; a different one means the device rebooted. */
  activatedBootId?: string;
  /**
   * The absolute time (ms since the epoch) by which the new slot must be confirmed healthy, set
   * once when it first boots (`confirming`). Persisted so that every restart of the agent (a
   * crash-looping new image) counts against the same deadline instead of starting a new timer
   * (docs/decisions/0023-boot-integration.md).
   */
  confirmDeadline?: number;
  /**
   * When the agent last asked for a reboot in the current state (reset on every state change).
   * An agent that starts with the same boot id although the OS booted since then (its uptime is
   * shorter) is on slots no bootloader updates: it stops rebooting instead of looping.
   */
  rebootRequestedAt?: number;
  /** The last transitions (bounded). */
  history: InstallHistoryEntry[];
}

/** What the caller should do next. */
export type InstallNext = 'none' | 'download' | 'verify' | 'activate' | 'reboot' | 'health-check';

/** The record plus the next step. */
export interface InstallStatus extends InstallRecord {
  next: InstallNext;
}

/**
 * Checks the signature (or threshold of signatures) over the release metadata and may read the image
 * written to the slot. Throws (or rejects) with the reason to refuse it.
 */
export type SignatureCheck = (input: {
  release: Release;
  slot: SlotName;
  image: () => AsyncIterable<Uint8Array>;
}) => Promise<void>;

/** Refusals of a call that change nothing. */
export class UpdateError extends Error {
  constructor(
    readonly code:
      'invalid_release' | 'downgrade' | 'wrong_state' | 'offset_mismatch' | 'image_too_long',
    message: string,
  ) {
    super(message);
    this.name = 'UpdateError';
  }
}

export const STATES: readonly InstallStateName[] = [
  'idle',
  'downloading',
  'downloaded',
  'verifying',
  'installing',
  'rebooting',
  'confirming',
  'committed',
  'failed',
  'rolled_back',
  'canceled',
];

/** Parses a persisted record; a damaged one is a clear error, never guessed at. */
export function parseRecord(text: string): InstallRecord {
  const r = JSON.parse(text) as InstallRecord;
  const bad = (why: string): never => {
    throw new TypeError(`invalid install record: ${why}`);
  };
  if (typeof r !== 'object' || r === null) bad('not an object');
  if (!STATES.includes(r.state)) bad(`unknown state ${JSON.stringify(r.state)}`);
  if (!Number.isSafeInteger(r.offset) || r.offset < 0) bad('offset');
  if (!Number.isSafeInteger(r.committedCounter) || r.committedCounter < 0) bad('committedCounter');
  if (!Array.isArray(r.history)) bad('history');
  if (r.job !== undefined && (typeof r.job !== 'object' || r.job === null)) bad('job');
  if (r.fullImage !== undefined && typeof r.fullImage !== 'boolean') bad('fullImage');
  if (r.confirmDeadline !== undefined && !Number.isSafeInteger(r.confirmDeadline))
    bad('confirmDeadline');
  if (r.rebootRequestedAt !== undefined && !Number.isSafeInteger(r.rebootRequestedAt))
    bad('rebootRequestedAt');
  if (r.delta !== undefined) {
    const d = r.delta as unknown as Record<string, unknown>;
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (typeof d !== 'object' || d === null) bad('delta');
    if (!count(d.totalBytes) || !count(d.downloadedBytes) || !count(d.reusedBytes)) bad('delta');
  }
  if (r.state !== 'idle') {
    if (r.target !== 'a' && r.target !== 'b') return bad('target');
    if (r.previous !== otherSlot(r.target)) bad('previous');
    checkManifest(r.release, 'install record release');
  }
  return r;
}

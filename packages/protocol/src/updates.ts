/**
 * Firmware update jobs on the device management plane (DESIGN.md §3 and §6). One job installs one
 * artifact on one device; a rollout creates many. Payloads are JSON (UTF-8), QoS 1:
 *
 *   updates/{jobId}           hub → device   UpdateOffer (install, or cancel a job not yet installing)
 *   updates/{jobId}/status    device → hub   UpdateStatusReport
 *   firmware                  device → hub   InstalledFirmware, after every connect and every commit
 *
 * The device's `firmware` report is the source of truth for what it runs: a job succeeds only when the
 * device reports `succeeded` after its new slot booted and passed the health check, and the hub
 * takes the installed version from the report, never from the job.
 *
 * Topics and payload schemas: `DEVICE_PLANE` (device-topics.ts), update-schemas.ts.
 */

/**
 * Job states. In order: queued → delivered → downloading(progress) → downloaded → installing →
 * rebooting → succeeded. Terminal: succeeded, failed(reason), rolled_back, rejected, canceled,
 * timed_out. A terminal state never changes.
 */
export type UpdateJobState =
  | 'queued'
  | 'delivered'
  | 'downloading'
  | 'downloaded'
  | 'installing'
  | 'rebooting'
  | 'succeeded'
  | 'failed'
  | 'rolled_back'
  | 'rejected'
  | 'canceled'
  | 'timed_out';

export const UPDATE_JOB_STATES: readonly UpdateJobState[] = [
  'queued',
  'delivered',
  'downloading',
  'downloaded',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolled_back',
  'rejected',
  'canceled',
  'timed_out',
];

export const TERMINAL_UPDATE_JOB_STATES: readonly UpdateJobState[] = [
  'succeeded',
  'failed',
  'rolled_back',
  'rejected',
  'canceled',
  'timed_out',
];

/** The non-terminal states in their order (a report never moves a job backwards along it). */
export const UPDATE_JOB_PROGRESSION: readonly UpdateJobState[] = [
  'queued',
  'delivered',
  'downloading',
  'downloaded',
  'installing',
  'rebooting',
];

/**
 * A job a cancel may be asked for (nothing of the running slot changed yet, as far as the hub
 * knows). A `queued` job was never handed to the device and is canceled at once; from `delivered`
 * on the cancel is a request the device confirms (`canceled`) or refuses (decision 0015).
 */
export const CANCELABLE_UPDATE_JOB_STATES: readonly UpdateJobState[] = [
  'queued',
  'delivered',
  'downloading',
  'downloaded',
];

export function isTerminalUpdateState(s: UpdateJobState): boolean {
  return TERMINAL_UPDATE_JOB_STATES.includes(s);
}

/**
 * Can a job in state `from` move to `to`? Forward along the progression (skipping is allowed: a
 * device may report `downloaded` without a `downloading` the hub saw), `downloading` → `downloading`
 * (progress), any non-terminal state to a terminal one; never out of a terminal state.
 */
export function canMoveUpdateJob(from: UpdateJobState, to: UpdateJobState): boolean {
  if (isTerminalUpdateState(from)) return false;
  if (isTerminalUpdateState(to)) return true;
  const a = UPDATE_JOB_PROGRESSION.indexOf(from);
  const b = UPDATE_JOB_PROGRESSION.indexOf(to);
  return b > a || (from === 'downloading' && to === 'downloading');
}

/** Install this artifact: everything the device needs to decide and fetch it itself. */
export interface UpdateInstallOffer {
  action: 'install';
  /** The job id. */
  id: string;
  artifactId: string;
  /** The signed release metadata (TUF targets JSON text) exactly as uploaded; the device verifies it. */
  metadata: string;
  /**
   * The organization's trusted root (TUF root JSON text) as the hub holds it. The device pins the
   * first root it sees (or the one it was provisioned with) and accepts a different one only as a
   * rotation verified by its pinned root (`verifyRootUpdate`).
   */
  root: string;
  /** The image's path on the hub's HTTPS API, fetched over mTLS with HTTP Range (resume, delta). */
  imagePath: string;
  /** From the metadata, for progress display; the signed metadata is authoritative. */
  length: number;
  sha256: string;
  /** RFC 3339: the hub times the job out (`timed_out`) if it has not finished by then. */
  deadline: string;
}

/**
 * The hub asks the device to stop a job. The device confirms with a `canceled` status, or refuses
 * with a status report carrying `cancel: 'refused'` (and its state, reason and message) when it is
 * too late — the job then goes on, and whatever the device reports next is recorded as it is.
 */
export interface UpdateCancelOffer {
  action: 'cancel';
  id: string;
}

export type UpdateOffer = UpdateInstallOffer | UpdateCancelOffer;

/** What a delta download saved: bytes of the image reused from the device's slots vs fetched. */
export interface DeltaSaving {
  totalBytes: number;
  downloadedBytes: number;
  reusedBytes: number;
}

/** What the device runs. */
export interface InstalledFirmware {
  /** The device type (hardware model) the agent is configured as. */
  type: string;
  hardware?: string;
  version: string;
  /** The highest release counter it has committed (anti-rollback floor). */
  releaseCounter: number;
  /** The slot it booted from, for A/B devices. */
  slot?: 'a' | 'b';
}

/** States a device reports (`queued` and `timed_out` are the hub's own). */
export type DeviceReportedUpdateState = Exclude<UpdateJobState, 'queued' | 'timed_out'>;

/** The device's report on one job. */
export interface UpdateStatusReport {
  state: DeviceReportedUpdateState;
  /** For `downloading`. */
  progress?: { bytes: number; total: number };
  /**
   * For failed / rejected / rolled_back: a machine code — `wrong_type`, `wrong_hardware`,
   * `below_min_version`, `downgrade`, `unknown_key`, `bad_signature`, `threshold_not_met`,
   * `expired`, `malformed`, `hash_mismatch`, `length_mismatch`, `download_failed`,
   * `health_check_failed`, `boot_failed`, `busy`, `untrusted_root`, `updates_not_supported` …
   */
  reason?: string;
  message?: string;
  /** With `downloaded` and later: what a delta download saved. */
  delta?: DeltaSaving;
  /** With `succeeded` and `rolled_back`: what the device runs now. */
  installed?: InstalledFirmware;
  /**
   * The device's answer to a cancel request it will not follow (too late: the boot pointer moved,
   * the install is running): the request is dropped and the job goes on. A confirmation is simply
   * `state: canceled`.
   */
  cancel?: 'refused';
}

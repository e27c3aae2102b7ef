/**
 * LwM2M Firmware Update (object 5, OMA-TS-LightweightM2M-V1_1 Core Appendix E.6) mapped onto
 * Bulwark's update job states (decisions 0008, 0044): State /5/0/3 and Update Result /5/0/5 as the
 * device reports them become the job's report. Pure: the driver (firmware.ts) applies the result.
 */
import type { UpdateStatusReport } from '@bulwark/protocol';

/** The object-5 resources the server uses. */
export const FW = {
  packageUri: '/5/0/1',
  update: '/5/0/2',
  state: '/5/0/3',
  result: '/5/0/5',
  pkgVersion: '/5/0/7',
  version: '/3/0/3',
} as const;

/** State /5/0/3. */
export const FW_STATE = { idle: 0, downloading: 1, downloaded: 2, updating: 3 } as const;

/** Update Result /5/0/5 failure codes (2..9): the job's reason, state and a readable meaning. */
export const FW_RESULT_FAILURES: Readonly<
  Record<number, { reason: string; state: 'failed' | 'rejected'; meaning: string }>
> = {
  2: {
    reason: 'not_enough_flash',
    state: 'failed',
    meaning: 'not enough flash memory for the package',
  },
  3: { reason: 'out_of_ram', state: 'failed', meaning: 'out of RAM during the download' },
  4: {
    reason: 'connection_lost',
    state: 'failed',
    meaning: 'the connection was lost during the download',
  },
  5: {
    reason: 'integrity_check_failure',
    state: 'rejected',
    meaning: 'the integrity check of the package failed',
  },
  6: {
    reason: 'unsupported_package_type',
    state: 'rejected',
    meaning: 'the package type is not supported',
  },
  7: { reason: 'invalid_uri', state: 'failed', meaning: 'the Package URI is invalid' },
  8: { reason: 'update_failed', state: 'failed', meaning: 'the firmware update failed' },
  9: {
    reason: 'unsupported_protocol',
    state: 'failed',
    meaning: 'the download protocol is not supported',
  },
};

/** Update Result 1: "Firmware updated successfully" — a claim the version check must confirm. */
export const FW_RESULT_SUCCESS = 1;

/**
 * What the device's State and Update Result mean for the job (null: nothing to report). A failure
 * result wins over the state (the device returns to Idle with it); success moves the job to
 * `rebooting` only: it succeeds when the device reports the target version (/3/0/3).
 */
export function fwReport(
  state: number | undefined,
  result: number | undefined,
): UpdateStatusReport | null {
  if (result !== undefined) {
    const f = FW_RESULT_FAILURES[result];
    if (f)
      return {
        state: f.state,
        reason: f.reason,
        message: `LwM2M Update Result ${result}: ${f.meaning}`,
      };
    if (result === FW_RESULT_SUCCESS)
      return {
        state: 'rebooting',
        message: 'LwM2M Update Result 1 (updated); success once the device reports the new version',
      };
  }
  switch (state) {
    case FW_STATE.downloading:
      return { state: 'downloading', message: 'LwM2M State 1 (Downloading)' };
    case FW_STATE.downloaded:
      return { state: 'downloaded', message: 'LwM2M State 2 (Downloaded)' };
    case FW_STATE.updating:
      return { state: 'installing', message: 'LwM2M State 3 (Updating)' };
    default:
      return null;
  }
}

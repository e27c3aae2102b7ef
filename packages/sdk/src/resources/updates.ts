import type { UpdateJobView } from '@bulwark/protocol';
import { isTerminalUpdateState } from '@bulwark/protocol/lite';
import { paginate } from '../paginate.js';
import type { Call, QueryOf } from '../types.js';
import { pollUntil, type WaitOptions } from '../poll.js';

/** `updates.wait` ran out of time: the job is still open, as `job` shows. */
export class UpdateWaitTimeout extends Error {
  override readonly name = 'UpdateWaitTimeout';
  /** The job as last seen. */
  readonly job: UpdateJobView;

  constructor(job: UpdateJobView, timeoutMs: number) {
    super(`update job ${job.id} is still ${job.state} after ${timeoutMs} ms`);
    this.job = job;
  }
}

/** Firmware update jobs (decision 0008): one artifact on one device. */
export function updatesApi(call: Call) {
  const get = (id: string) => call('getUpdateJob', { params: { id } });
  return {
    /** Deploys a ready artifact to a device; the device gets the offer when it is connected. */
    deploy: (deviceId: string, artifactId: string, opts: { timeoutSeconds?: number } = {}) =>
      call('deployUpdate', {
        params: { id: deviceId },
        body: {
          artifactId,
          ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        },
      }),
    /** One page of jobs, newest first. */
    list: (query: QueryOf<'listUpdateJobs'> = {}) => call('listUpdateJobs', { query }),
    /** Every job matching the query, following `nextCursor` page by page. */
    all: (query: QueryOf<'listUpdateJobs'> = {}) =>
      paginate((cursor) => call('listUpdateJobs', { query: { ...query, cursor } })),
    /** One job with its state history. */
    get,
    /**
     * Cancels a job that has not started installing: at once while queued, else a request the
     * device confirms or refuses; `force` ends it at once in any open state (a device that is gone).
     */
    cancel: (id: string, opts: { force?: boolean } = {}) =>
      call('cancelUpdateJob', { params: { id }, body: opts.force ? { force: true } : {} }),
    /**
     * Polls a job until it is terminal (succeeded, failed, rolled_back, rejected, canceled,
     * timed_out) and returns it; throws `UpdateWaitTimeout` when time runs out.
     */
    wait: (id: string, opts: WaitOptions<UpdateJobView> = {}): Promise<UpdateJobView> =>
      pollUntil(
        () => get(id),
        (job) => isTerminalUpdateState(job.state),
        (job, ms) => new UpdateWaitTimeout(job, ms),
        opts,
      ),
  };
}

/**
 * What a device's report does to its update job, as a pure function of the job and the report
 * (decisions 0008 and 0015). The job service stores the result as one compare-and-set.
 *
 * - A report moves the job when `canMoveUpdateJob` allows it (never backwards, terminal sticks):
 *   a new history entry with the device's reason and message. Download progress within
 *   `downloading` updates the job's progress only — unless it carries a message.
 * - A report that cannot move the job but carries a reason or message is still kept, as a
 *   `feedback` entry of the unchanged state: the line that explains a failure may come in any
 *   message, and every one is kept (the history is bounded, job-history.ts).
 * - A cancel request is answered by the device: `canceled` confirms it (the job ends `canceled`);
 *   `cancel: 'refused'` drops it and the job goes on. A job that ends any other way (e.g.
 *   `succeeded` after a request) is recorded as the device says, the request visible in the
 *   history before it.
 */
import {
  canMoveUpdateJob,
  isTerminalUpdateState,
  type UpdateJobState,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import type {
  UpdateJobHistoryEntry,
  UpdateJobRecord,
  UpdateJobTransition,
} from '../ports/updates.js';

/** States whose failure carries a reason; one is filled in when the device gave none. */
const NEEDS_REASON: readonly UpdateJobState[] = ['failed', 'rejected', 'rolled_back'];

/** A planned change: the transition to store, and whether it moved the job or only noted. */
export interface ReportPlan {
  transition: UpdateJobTransition;
  /** `applied`: the job's state or progress changed; `noted`: only its history grew. */
  outcome: 'applied' | 'noted';
}

/** Plans what `report` does to `job` at `at`; null when it changes nothing (ignored). */
export function planReport(
  job: Pick<UpdateJobRecord, 'state' | 'cancelRequested'>,
  report: UpdateStatusReport,
  at: number,
): ReportPlan | null {
  const from = job.state;
  if (isTerminalUpdateState(from)) return null;
  const moves = canMoveUpdateJob(from, report.state);
  const refusal = report.cancel === 'refused' && job.cancelRequested !== null;
  const confirm = report.state === 'canceled' && job.cancelRequested !== null;
  const reason =
    report.reason ??
    (moves && NEEDS_REASON.includes(report.state) ? 'unspecified' : undefined) ??
    (confirm ? 'canceled' : undefined);
  const text = {
    ...(reason !== undefined ? { reason } : {}),
    ...(report.message !== undefined ? { message: report.message } : {}),
  };
  const hasText = reason !== undefined || report.message !== undefined;
  if (!moves && !refusal && !hasText) return null;

  const entries: UpdateJobHistoryEntry[] = [];
  // The refusal carries the device's reason and message; a move in the same report, none.
  if (refusal) entries.push({ state: from, at, event: 'cancel_refused', ...text });
  const own = refusal ? {} : text;
  const to = moves ? report.state : from;
  const progressOnly = moves && from === 'downloading' && to === 'downloading';
  if (moves && !progressOnly) entries.push({ state: to, at, ...own });
  else if (!refusal && hasText) entries.push({ state: to, at, event: 'feedback', ...own });

  const transition: UpdateJobTransition = {
    from,
    to,
    at,
    ...(moves && report.progress !== undefined ? { progress: report.progress } : {}),
    ...(moves && report.delta !== undefined ? { delta: report.delta } : {}),
    // The job's own reason / message are the last ones of a move (for a terminal one: why).
    ...(moves && !refusal ? text : {}),
    ...(entries.length > 0 ? { entries } : {}),
    // Answered: refused, confirmed, or made moot by the job ending another way.
    ...(refusal || (isTerminalUpdateState(to) && job.cancelRequested !== null)
      ? { cancelRequested: null }
      : {}),
    ...(refusal ? { expectCancelRequested: true } : {}),
  };
  return { transition, outcome: moves ? 'applied' : 'noted' };
}

/**
 * DDI action feedback (`POST …/deploymentBase/{actionId}/feedback`, `…/cancelAction/{id}/feedback`)
 * checked field by field and mapped onto Bulwark job states (decision 0012). Clients add fields of
 * their own (`time`, `id` as number or string, progress), so unknown fields are ignored, but every
 * field we read must have its documented type.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { UpdateJobState } from '@bulwark/protocol';

/** hawkBit's `status.execution` values. */
export const DDI_EXECUTIONS = [
  'closed',
  'proceeding',
  'canceled',
  'scheduled',
  'rejected',
  'resumed',
  'download',
  'downloaded',
] as const;
export type DdiExecution = (typeof DDI_EXECUTIONS)[number];

/** hawkBit's `status.result.finished` values. */
export const DDI_FINISHED = ['success', 'failure', 'none'] as const;
export type DdiFinished = (typeof DDI_FINISHED)[number];

/** A feedback body, checked. */
export interface DdiFeedback {
  execution: DdiExecution;
  finished: DdiFinished;
  /** hawkBit's `progress: {cnt, of}` — a step count, not bytes. */
  progress: { cnt: number; of: number } | null;
  details: string[];
}

// The history keeps what a person needs to see why; SWUpdate sends up to 48 log lines of ~2 KiB.
const MAX_MESSAGE_CHARS = 2000;
const MAX_DETAILS = 100;

const invalid = (field: string, msg: string) =>
  new BulwarkError('validation_failed', `${field} ${msg}`, { extra: { field } });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a feedback body. `id`, when present, must name the action of the URL (clients send it as
 * a number or as a string of one).
 */
export function parseFeedback(body: unknown, actionId: number): DdiFeedback {
  if (!isObject(body)) throw invalid('body', 'must be a JSON object');
  const id = body['id'];
  const idOk =
    id === undefined ||
    id === '' ||
    id === actionId ||
    (typeof id === 'string' && id === String(actionId));
  if (!idOk) {
    throw invalid('body.id', `is ${JSON.stringify(id)}, not the action ${actionId} of the URL`);
  }
  const status = body['status'];
  if (!isObject(status)) throw invalid('body.status', 'must be an object');
  const execution = status['execution'];
  if (typeof execution !== 'string' || !(DDI_EXECUTIONS as readonly string[]).includes(execution))
    throw invalid('body.status.execution', `must be one of ${DDI_EXECUTIONS.join(', ')}`);
  const result = status['result'];
  if (!isObject(result)) throw invalid('body.status.result', 'must be an object');
  const finished = result['finished'];
  if (typeof finished !== 'string' || !(DDI_FINISHED as readonly string[]).includes(finished))
    throw invalid('body.status.result.finished', `must be one of ${DDI_FINISHED.join(', ')}`);
  let progress: DdiFeedback['progress'] = null;
  const p = result['progress'];
  if (p !== undefined) {
    if (!isObject(p)) throw invalid('body.status.result.progress', 'must be an object');
    const { cnt, of } = p;
    if (
      !Number.isSafeInteger(cnt) ||
      !Number.isSafeInteger(of) ||
      Number(cnt) < 0 ||
      Number(of) < 0
    )
      throw invalid('body.status.result.progress', 'must have non-negative integers cnt and of');
    progress = { cnt: Number(cnt), of: Number(of) };
  }
  const d = status['details'] ?? [];
  if (!Array.isArray(d) || d.length > MAX_DETAILS || !d.every((x) => typeof x === 'string'))
    throw invalid('body.status.details', `must be an array of at most ${MAX_DETAILS} strings`);
  return {
    execution: execution as DdiExecution,
    finished: finished as DdiFinished,
    progress,
    details: d.map((s) => s.trim()).filter((s) => s !== ''),
  };
}

/** What a long message keeps of its start; the rest of the room goes to its end. */
const HEAD_CHARS = 600;

/**
 * The details as one history message (or undefined when there are none). A message too long for
 * the history keeps its start and its end — a client's last lines are usually the error
 * (SWUpdate's "ERROR …", RAUC's "Verifying signature failed").
 */
export function detailsMessage(details: readonly string[]): string | undefined {
  if (details.length === 0) return undefined;
  const text = details.join('; ');
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  const gap = ' … ';
  return `${text.slice(0, HEAD_CHARS)}${gap}${text.slice(-(MAX_MESSAGE_CHARS - HEAD_CHARS - gap.length))}`;
}

/**
 * The controller's answer to a cancel request (`POST …/cancelAction/{id}/feedback`), as hawkBit
 * reads it: `closed` with success (or none) and `canceled` confirm — the action ends canceled;
 * `rejected` and `closed` with failure refuse — the cancel is dropped and the action goes on;
 * anything else (`proceeding`, `scheduled` …) answers nothing yet.
 */
export function cancelAnswer(f: DdiFeedback): 'confirmed' | 'refused' | null {
  switch (f.execution) {
    case 'closed':
      return f.finished === 'failure' ? 'refused' : 'confirmed';
    case 'canceled':
      return 'confirmed';
    case 'rejected':
      return 'refused';
    default:
      return null;
  }
}

/**
 * The job state a deployment feedback asks for, or null for feedback that changes no state
 * (`scheduled`, `resumed`). hawkBit closes an action as finished unless the result is `failure`,
 * so `closed` with `none` counts as success, as it does there.
 */
export function targetState(f: DdiFeedback): UpdateJobState | null {
  switch (f.execution) {
    case 'proceeding':
    case 'download':
      return 'downloading';
    case 'downloaded':
      return 'downloaded';
    case 'closed':
      return f.finished === 'failure' ? 'failed' : 'succeeded';
    case 'rejected':
      return 'rejected';
    case 'canceled':
      return 'canceled';
    case 'scheduled':
    case 'resumed':
      return null;
  }
}

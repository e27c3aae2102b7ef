import { BulwarkError, isErrorCode, type ErrorCode, type Problem } from '@bulwark/protocol/lite';

/** An error response from the hub: the HTTP status, its RFC 9457 problem document and stable code. */
export class ApiError extends BulwarkError {
  /** The HTTP status of the response. */
  readonly status: number;
  /** The problem document as received (synthesized when the body was not problem+json). */
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.code, problem.detail, { extra: problem });
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Reads an error response into an ApiError. A body that is not a problem document, or a code this
 * client does not know (a newer hub), degrades to `internal_error` with whatever detail there is.
 */
export async function apiErrorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      doc = parsed as Record<string, unknown>;
    }
  } catch {
    // not JSON: keep the text (trimmed) as the detail below
  }
  const code: ErrorCode = isErrorCode(doc.code) ? doc.code : 'internal_error';
  const fallback = text.trim().slice(0, 200) || `HTTP ${res.status} ${res.statusText}`.trim();
  const problem: Problem = {
    ...doc,
    type: typeof doc.type === 'string' ? doc.type : 'about:blank',
    title: typeof doc.title === 'string' ? doc.title : res.statusText,
    status: typeof doc.status === 'number' ? doc.status : res.status,
    detail: typeof doc.detail === 'string' ? doc.detail : fallback,
    code,
  };
  return new ApiError(res.status, problem);
}

/** Wraps a failure to reach the hub at all (refused, DNS, TLS) as a BulwarkError `unavailable`. */
export function unreachable(url: string, err: unknown): BulwarkError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const code = (cause as { code?: unknown }).code;
  const reason =
    typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new BulwarkError('unavailable', `cannot reach ${url}: ${reason}`, {
    cause: err,
    extra: typeof code === 'string' ? { causeCode: code } : {},
  });
}

import { BulwarkError, ERRORS, problemType, type ErrorKind, type Problem } from '@bulwark/protocol';

/** The one place an error kind becomes an HTTP status. */
export function httpStatus(kind: ErrorKind): number {
  switch (kind) {
    case 'invalid':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'gone':
      return 410;
    case 'too_large':
      return 413;
    case 'unsupported_media':
      return 415;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
    case 'internal':
      return 500;
  }
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: {
    keyword: string;
    instancePath: string;
    params: Record<string, unknown>;
    message?: string;
  }[];
  validationContext?: string;
}

/**
 * Turns any error into a BulwarkError: ours pass through; Fastify's validation, body-size,
 * content-type and JSON errors get their stable codes; anything else is an internal error.
 */
export function normalizeError(err: unknown): BulwarkError {
  if (err instanceof BulwarkError) return err;
  const e = err as FastifyLikeError;
  if (e.validation && e.validation.length > 0) {
    const v = e.validation[0]!;
    const where = `${e.validationContext ?? 'body'}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''}`;
    if (v.keyword === 'additionalProperties') {
      const field = String(v.params['additionalProperty']);
      return new BulwarkError('unknown_field', `${where} has an unknown field '${field}'`, {
        extra: { field },
      });
    }
    return new BulwarkError('validation_failed', `${where} ${v.message ?? 'is invalid'}`, {
      extra: { field: where, keyword: v.keyword },
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BulwarkError('body_too_large', e.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BulwarkError('unsupported_media_type', e.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BulwarkError('malformed_body', e.message);
  }
  if (err instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message))) {
    return new BulwarkError('malformed_body', `the body is not valid JSON: ${e.message}`);
  }
  return new BulwarkError('internal_error', 'internal error', { cause: err });
}

/** An RFC 9457 problem document for an error. */
export function toProblem(err: BulwarkError, instance?: string): Problem {
  const status = httpStatus(err.kind);
  return {
    ...err.extra,
    type: problemType(err.code),
    title: ERRORS[err.code].title,
    status,
    detail: err.message,
    code: err.code,
    ...(instance === undefined ? {} : { instance }),
  };
}

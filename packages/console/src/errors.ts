import { ApiError } from '@bulwark/sdk/browser';

/** A one-line message for an error shown in the page. */
export function message(err: unknown): string {
  if (err instanceof ApiError) return `${err.problem.title}: ${err.problem.detail ?? ''}`.trim();
  return err instanceof Error ? err.message : String(err);
}

export function isCode(err: unknown, code: string): boolean {
  return err instanceof ApiError && err.code === code;
}

import { BulwarkError } from '@bulwark/protocol/lite';
import { CliError, UsageError } from './errors.js';
import type { Io } from './io.js';

/** Whether argv asks for JSON output: `--json` before any `--`. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** The JSON form of an error: a stable code, the message, and the hint a person would get. */
export interface JsonError {
  error: { code: string; message: string; hint?: string };
}

/**
 * An error as JSON (decision 0029): `{"error":{"code","message"}}`, the code the hub's (e.g.
 * `not_found`), `usage` for a mistake in the invocation, `cli_error` for one the CLI found itself,
 * `internal` otherwise.
 */
export function errorJson(err: unknown): JsonError {
  if (err instanceof UsageError) {
    const help = err.command === undefined ? 'bulwark help' : `bulwark ${err.command} --help`;
    return { error: { code: 'usage', message: err.message, hint: `see \`${help}\`` } };
  }
  if (err instanceof BulwarkError) {
    const hint =
      err.code === 'unavailable' ? 'is the hub running at that address? (--hub, BULWARK_HUB)' : '';
    return { error: { code: err.code, message: err.message, ...(hint === '' ? {} : { hint }) } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { error: { code: err instanceof CliError ? 'cli_error' : 'internal', message } };
}

/**
 * Prints an error as one line of JSON on stderr (stdout carries only results) and returns the exit
 * code it would have without `--json`: 2 for usage, else 1.
 */
export function reportJsonError(err: unknown, io: Io): number {
  io.err(`${JSON.stringify(errorJson(err))}\n`);
  return err instanceof UsageError ? 2 : 1;
}

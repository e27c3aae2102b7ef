import { BulwarkError, type ErrorCode } from '@bulwark/protocol';

/** Unique indexes whose clash is a caller-visible conflict, by the text SQLite puts in its message. */
const UNIQUE_CODES: ReadonlyArray<readonly [string, ErrorCode]> = [
  ["index 'users_email_key'", 'email_taken'],
  ['devices.org_id, devices.name', 'device_name_taken'],
  ['channels.org_id, channels.name', 'channel_name_taken'],
  ['firmware_artifacts.org_id, firmware_artifacts.sha256', 'firmware_artifact_exists'],
];

/**
 * Runs `fn`, turning a unique-constraint clash on a known index into its BulwarkError; any other
 * error passes through unchanged (it is the adapter's own failure).
 */
export function mapUnique<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translate(err);
  }
}

function translate(err: unknown): unknown {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') {
    return err;
  }
  for (const [needle, code] of UNIQUE_CODES) {
    if (err.message.includes(needle)) return new BulwarkError(code, undefined, { cause: err });
  }
  return err;
}

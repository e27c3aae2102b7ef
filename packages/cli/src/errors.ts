/** A mistake in how the command was invoked (unknown flag, missing argument): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose `--help` to point at, e.g. `device list`. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A failure the CLI detects itself (no hub configured, a file in the way): exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

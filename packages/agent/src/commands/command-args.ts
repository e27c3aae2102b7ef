/**
 * The flags of an agent command that needs `--config FILE`: parsed strictly, `--help` printed,
 * usage errors said on stderr. Returns the values, or the exit code to end with (0 help, 2 usage).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function configCommandArgs<T extends { config?: string; help?: boolean }>(
  argv: string[],
  options: Options,
  usage: string,
): (T & { config: string }) | number {
  let values: T;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values as T;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.config === undefined) {
    process.stderr.write(`error: --config is required\n${usage}`);
    return 2;
  }
  return values as T & { config: string };
}

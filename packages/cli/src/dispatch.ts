import { parseArgs } from 'node:util';
import {
  COMMON,
  CONNECTION,
  commandHelp,
  groupHelp,
  type Command,
  type Context,
  type OptionSpecs,
} from './command.js';
import { connect, resolveConnection, type Connection } from './connection.js';
import { CliError, UsageError } from './errors.js';
import type { Io } from './io.js';
import { resolveName } from './names.js';
import { didYouMean } from './suggest.js';

/** The command whose words are the longest prefix of argv, if any. */
export function findCommand(
  commands: readonly Command[],
  argv: readonly string[],
): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (
      c.path.every((w, i) => argv[i] === w) &&
      (best === undefined || c.path.length > best.path.length)
    ) {
      best = c;
    }
  }
  return best;
}

/**
 * `unknown command "device lsit"; did you mean "device list"?`: the words up to the first one no
 * command has at that place, that word replaced by the closest one that fits.
 */
function unknownCommand(commands: readonly Command[], words: readonly string[]): string {
  let known = 0;
  while (
    known < words.length &&
    commands.some((c) => words.slice(0, known + 1).every((w, i) => c.path[i] === w))
  ) {
    known++;
  }
  const next = new Set(
    commands
      .filter((c) => words.slice(0, known).every((w, i) => c.path[i] === w))
      .map((c) => c.path[known])
      .filter((w): w is string => w !== undefined),
  );
  const wrong = words[known];
  if (wrong === undefined) return `unknown command "${words.join(' ')}"`;
  const typed = words.slice(0, known + 1).join(' ');
  const hint = didYouMean(wrong, next);
  const fixed =
    hint === '' ? '' : [...words.slice(0, known), /"(.*)"/.exec(hint)?.[1] ?? ''].join(' ');
  return `unknown command "${typed}"${fixed === '' ? '' : `; did you mean "${fixed}"?`}`;
}

const flagNames = (specs: OptionSpecs): string[] => Object.keys(specs).map((k) => `--${k}`);

/** The positional arguments with each one `cmd.ids` marks resolved from a name to its id. */
async function resolveIds(cmd: Command, ctx: Context): Promise<string[]> {
  const declared = (cmd.args ?? []).map((a) => a.replace(/\?$/, ''));
  const out: string[] = [];
  for (const [i, value] of ctx.args.entries()) {
    const kind = cmd.ids?.[declared[i] ?? ''];
    out.push(kind === undefined ? value : await resolveName(() => ctx.client(), kind, value));
  }
  return out;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Finds the command in argv, parses its flags strictly and runs it; returns the exit code. */
export async function dispatch(
  commands: readonly Command[],
  argv: readonly string[],
  io: Io,
): Promise<number> {
  const cmd = findCommand(commands, argv);
  if (cmd === undefined) {
    // Words naming a group (`device`, `device key`) show its commands; anything else is unknown.
    const words: string[] = [];
    for (const a of argv) {
      if (a.startsWith('-')) break;
      words.push(a);
    }
    const inGroup = (c: Command): boolean => words.every((w, i) => c.path[i] === w);
    const wantsHelp = argv.includes('--help') || argv.includes('-h');
    if (words.length > 0 && commands.some(inGroup)) {
      const help = groupHelp(commands, words);
      if (wantsHelp) {
        io.out(help);
        return 0;
      }
      io.err(help);
      return 2;
    }
    throw new UsageError(unknownCommand(commands, words));
  }

  const name = cmd.path.join(' ');
  const specs: OptionSpecs = {
    ...COMMON,
    ...(cmd.remote === false ? {} : CONNECTION),
    ...cmd.options,
  };
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.slice(cmd.path.length),
      options: specs,
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    // parseArgs' messages run on with advice about `--`; the first sentence is the point.
    const message = (err as Error).message.replace(/\. To specify a positional.*$/s, '');
    const unknown = /^Unknown option '--([^'=]+)'/.exec(message)?.[1];
    const hint = unknown === undefined ? '' : didYouMean(`--${unknown}`, flagNames(specs));
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1) + hint, name);
  }
  if (values.help === true) {
    io.out(commandHelp(cmd));
    return 0;
  }
  const declared = cmd.args ?? [];
  const required = declared.filter((a) => !a.endsWith('?')).length;
  if (positionals.length < required) {
    throw new UsageError(`missing ${declared.slice(positionals.length, required).join(' ')}`, name);
  }
  // A last argument declared `NAME...` (or `NAME...?`) takes any number of values.
  const variadic = /\.\.\.\??$/.test(declared.at(-1) ?? '');
  if (!variadic && positionals.length > declared.length) {
    throw new UsageError(`unexpected argument '${positionals[declared.length] ?? ''}'`, name);
  }
  let ctx = makeContext(name, values, positionals, io);
  if (cmd.ids !== undefined) ctx = makeContext(name, values, await resolveIds(cmd, ctx), io);
  return (await cmd.run(ctx)) ?? 0;
}

function makeContext(name: string, values: Values, args: string[], io: Io): Context {
  const json = values.json === true;
  let conn: Connection | undefined;
  const str = (key: string): string | undefined => {
    const v = values[key];
    return typeof v === 'string' ? v : undefined;
  };
  const usage = (message: string): Error => new UsageError(message, name);
  const connection = (): Connection =>
    (conn ??= resolveConnection(
      { hub: str('hub'), ca: str('ca'), dataDir: str('data-dir') },
      io.env,
      io.cwd,
    ));
  return {
    io,
    args,
    json,
    str,
    need: (key) => str(key) ?? throwIt(usage(`--${key} is required`)),
    strs: (key) => {
      const v = values[key];
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    },
    flag: (key) => values[key] === true,
    int: (key) => {
      const v = str(key);
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw usage(`--${key} must be a whole number, not '${v}'`);
      return Number(v);
    },
    choice: <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
      const v = str(key);
      if (v === undefined) return undefined;
      if (!(allowed as readonly string[]).includes(v)) {
        throw usage(`--${key} must be one of ${allowed.join(', ')}, not '${v}'`);
      }
      return v as T;
    },
    usage,
    connection,
    client: (auth = true) => {
      const c = connection();
      if (auth && c.token === undefined) {
        throw new CliError(
          'no credentials: set BULWARK_API_KEY to an API key, or BULWARK_TOKEN to a token from `bulwark login`',
        );
      }
      return connect(c, auth);
    },
    deviceClient: (authorization) => connect(connection(), false, authorization),
    print: (result, render) => {
      const text = json ? `${JSON.stringify(result ?? null, null, 2)}\n` : render();
      io.out(text === '' || text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

function throwIt(err: Error): never {
  throw err;
}

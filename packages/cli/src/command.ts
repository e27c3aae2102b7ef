import type { BulwarkClient } from '@bulwark/sdk';
import type { Connection } from './connection.js';
import type { Io } from './io.js';
import type { NameKind } from './names.js';

/** One flag of a command, with the help line it shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help, e.g. `N`. */
  value?: string;
  help: string;
}

/** A command's flags by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What a command's `run` gets: parsed arguments, output helpers and a lazily made client. */
export interface Context {
  readonly io: Io;
  /** Positional arguments, in the order the command's `args` names them. */
  readonly args: readonly string[];
  /** Whether `--json` was given. */
  readonly json: boolean;
  str(name: string): string | undefined;
  /** A string flag that must be present (else a usage error). */
  need(name: string): string;
  strs(name: string): string[];
  flag(name: string): boolean;
  /** A non-negative integer flag (else a usage error). */
  int(name: string): number | undefined;
  /** A string flag restricted to `allowed` (else a usage error). */
  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined;
  /** A usage error for this command. */
  usage(message: string): Error;
  /** The resolved hub connection. */
  connection(): Connection;
  /** A client for the hub; with `auth` (the default) it fails early when no credentials are set. */
  client(auth?: boolean): BulwarkClient;
  /** A client that authenticates as a device with this Authorization header (e.g. Basic device key). */
  deviceClient(authorization: string): BulwarkClient;
  /** Prints `result` as JSON with `--json`, else what `render` returns. */
  print(result: unknown, render: () => string): void;
}

/** A CLI command: its words, positional arguments, flags and what it does. */
export interface Command {
  path: readonly string[];
  /** Positional argument names; a trailing `?` marks one optional. */
  args?: readonly string[];
  summary: string;
  options?: OptionSpecs;
  /**
   * Positional arguments that name a device, channel, location or rollout: a name there is
   * resolved to its id (exact match) before `run` sees it. By argument name, e.g. `{ ID: 'device' }`.
   */
  ids?: Readonly<Record<string, NameKind>>;
  /** Whether the command talks to a hub (adds --hub, --ca, --data-dir). Default true. */
  remote?: boolean;
  run(ctx: Context): Promise<number | void>;
}

/** Flags every command takes. */
export const COMMON: OptionSpecs = {
  json: { type: 'boolean', help: 'print the raw JSON result' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Flags of every command that talks to a hub. */
export const CONNECTION: OptionSpecs = {
  hub: { type: 'string', value: 'URL', help: 'hub URL (default: BULWARK_HUB, else runtime.json)' },
  ca: {
    type: 'string',
    value: 'FILE',
    help: 'CA bundle to trust for the hub (default: BULWARK_CA)',
  },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: "a local hub's data dir to read runtime.json from (default: BULWARK_DATA_DIR or ./.bulwark)",
  },
};

const flagLine = ([name, spec]: [string, OptionSpec]): [string, string] => [
  `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}` +
    (spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : '') +
    (spec.multiple === true ? ' ...' : ''),
  spec.help,
];

const section = (title: string, rows: [string, string][]): string => {
  const width = Math.max(...rows.map(([left]) => left.length));
  return `${title}:\n${rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}\n`).join('')}`;
};

/** The synopsis of a command, e.g. `bulwark device get ID`. */
export function synopsis(cmd: Command): string {
  const args = (cmd.args ?? []).map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : a));
  return ['bulwark', ...cmd.path, ...args, '[options]'].join(' ');
}

/** The `--help` text of one command. */
export function commandHelp(cmd: Command): string {
  const own = Object.entries(cmd.options ?? {}).map(flagLine);
  const common = Object.entries(COMMON).map(flagLine);
  const conn = cmd.remote === false ? [] : Object.entries(CONNECTION).map(flagLine);
  return [
    `usage: ${synopsis(cmd)}\n\n${cmd.summary}\n`,
    own.length > 0 ? section('options', own) : '',
    section('general', [...common, ...conn]),
  ]
    .filter((s) => s !== '')
    .join('\n');
}

/** The list of commands under a prefix (all commands for an empty prefix). */
export function groupHelp(commands: readonly Command[], prefix: readonly string[]): string {
  const rows = commands
    .filter((c) => prefix.every((w, i) => c.path[i] === w))
    .map((c): [string, string] => [synopsis(c).replace(/ \[options\]$/, ''), c.summary]);
  return section('commands', rows);
}

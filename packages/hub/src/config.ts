/**
 * The hub's configuration: one typed schema with visible defaults, filled from flags,
 * `BULWARK_*` environment variables and a JSON config file (in that order of precedence),
 * validated at start, frozen. Unknown flags, unknown `BULWARK_*` variables and unknown keys in
 * the file are refused with a message naming them (decision 0026).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

import { CONFIG_FIELDS, type Field } from './config-fields.js';
import { readConfigFile } from './config-file.js';
import { ConfigError } from './config-error.js';

export { CONFIG_FIELDS, ConfigError };

type Fields = typeof CONFIG_FIELDS;
type ValueOf<F extends Field> = F extends { kind: 'choice'; choices: readonly (infer C)[] }
  ? C
  : F['kind'] extends 'port?'
    ? number | null
    : F['kind'] extends 'port' | 'int'
      ? number
      : F['kind'] extends 'list'
        ? string[]
        : string;

/** The validated, frozen configuration. */
export type HubConfig = { readonly [K in keyof Fields]: ValueOf<Fields[K]> };

/** `BULWARK_*` variables that belong to the CLI and SDK, not the hub; the hub ignores them. */
const CLIENT_ENV = new Set([
  'BULWARK_HUB',
  'BULWARK_API_KEY',
  'BULWARK_TOKEN',
  'BULWARK_CA',
  'BULWARK_PASSWORD',
]);
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The environment variable of a flag: BULWARK_ + the flag in CONSTANT_CASE. */
export const envName = (flag: string) => `BULWARK_${flag.toUpperCase().replace(/-/g, '_')}`;

/**
 * Parses and validates flags, environment and the config file into a frozen HubConfig.
 * Precedence: flags > BULWARK_* variables > the file (--config or BULWARK_CONFIG) > defaults.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): HubConfig {
  const entries = Object.entries(CONFIG_FIELDS) as [keyof Fields, Field][];
  let values: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(entries.map(([, f]) => [f.flag, { type: 'string' as const }])),
    });
    values = parsed.values;
  } catch (err) {
    throw new ConfigError(
      `${(err as Error).message}. Known flags: ${entries.map(([, f]) => `--${f.flag}`).join(', ')}`,
    );
  }
  const known = new Set(entries.map(([, f]) => envName(f.flag)));
  const unknown = Object.keys(env).filter(
    (k) =>
      k.startsWith('BULWARK_') &&
      !known.has(k) &&
      !CLIENT_ENV.has(k) &&
      !k.startsWith('BULWARK_TEST_'),
  );
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${[...known].join(', ')}`,
    );
  }
  const fileArg = values['config'] ?? env[envName('config')];
  const file = fileArg ? readConfigFile(resolve(fileArg)) : { path: '', values: {} };
  const out: Record<string, unknown> = {};
  for (const [key, f] of entries) {
    const [raw, label] =
      values[f.flag] !== undefined
        ? [values[f.flag], `--${f.flag}`]
        : env[envName(f.flag)] !== undefined
          ? [env[envName(f.flag)], envName(f.flag)]
          : [file.values[f.flag], `"${f.flag}" in ${file.path}`];
    out[key] =
      raw === undefined ? (f.kind === 'port?' ? null : f.default) : coerce(key, f, raw, label);
    if (out[key] === undefined)
      throw new ConfigError(
        `--${f.flag} (or ${envName(f.flag)}${fileArg ? `, or "${f.flag}" in ${resolve(fileArg)}` : ', or --config FILE'}) is required: ${f.doc}`,
      );
  }
  out['dataDir'] = resolve(String(out['dataDir']));
  out['config'] = file.path; // absolute: printed at start and recorded for admin commands
  return Object.freeze(out) as HubConfig;
}

function coerce(key: string, f: Field, raw: string, label: string): unknown {
  const bad = (why: string) => new ConfigError(`${label} ${JSON.stringify(raw)}: ${why}`);
  switch (f.kind) {
    case 'string':
      if (key === 'dataDir' && raw.trim() === '') throw bad('must not be empty');
      if (key === 'publicUrl' && raw !== '') return publicOrigin(raw, bad);
      return raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'level':
      if (!LEVELS.includes(raw)) throw bad(`must be one of ${LEVELS.join(', ')}`);
      return raw;
    case 'choice':
      if (!f.choices?.includes(raw)) throw bad(`must be one of ${f.choices?.join(', ')}`);
      return raw;
    case 'port?':
    case 'port':
    case 'int': {
      if (f.kind === 'port?' && raw === '') return null;
      if (!/^\d+$/.test(raw)) throw bad('must be a whole number');
      const n = Number(raw);
      const [min, max] =
        f.kind === 'port' ? [0, 65535] : [f.min ?? 0, f.max ?? Number.MAX_SAFE_INTEGER];
      if (n < min || n > max) throw bad(`must be between ${min} and ${max}`);
      return n;
    }
  }
}

/** An https origin (scheme, host, optional port; no path, query or credentials), normalized. */
function publicOrigin(raw: string, bad: (why: string) => ConfigError): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('must be a URL such as https://hub.example.com:8443');
  }
  if (u.protocol !== 'https:') throw bad('must be an https URL (the hub serves only HTTPS)');
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== ''))
    throw bad('must be an origin only: scheme, host and port, no path, query or credentials');
  return u.origin;
}

/** Help text listing every setting with its flag, env name and default. */
export function configHelp(): string {
  return (Object.values(CONFIG_FIELDS) as Field[])
    .map(
      (f) =>
        `  --${f.flag.padEnd(18)} ${envName(f.flag).padEnd(28)} ${f.doc}${f.default === undefined || f.default === '' ? '' : ` (default ${JSON.stringify(f.default)})`}`,
    )
    .join('\n');
}

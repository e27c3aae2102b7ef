/**
 * The hub's config file (decision 0026): a JSON object keyed by flag names, read by `bulwark hub`
 * and every admin command, so both act on the same database. Values are strings, numbers or (for
 * lists) arrays of strings; relative paths are relative to the file; unknown keys are refused.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CONFIG_FIELDS, type Field } from './config-fields.js';
import { ConfigError } from './config-error.js';

/** What a config file says, as the raw strings a flag would carry. */
export interface ConfigFile {
  /** Its absolute path. */
  path: string;
  values: Record<string, string>;
}

// Far beyond any real config (a few KiB); a larger file is a mistake, not a configuration.
const MAX_BYTES = 1024 * 1024;

/** Reads and checks the file: a JSON object whose keys are known flags (other than `config`). */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  if (text.length > MAX_BYTES) throw new ConfigError(`config file ${path}: larger than 1 MiB`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`config file ${path}: must be a JSON object keyed by flag names`);
  const fields = new Map(
    (Object.values(CONFIG_FIELDS) as Field[])
      .filter((f) => f.flag !== 'config')
      .map((f) => [f.flag, f]),
  );
  const values: Record<string, string> = {};
  for (const [key, v] of Object.entries(json)) {
    const f = fields.get(key);
    if (f === undefined) {
      throw new ConfigError(
        `config file ${path}: unknown setting "${key}"${key === 'config' ? ' (a config file cannot name another)' : ''}; known: ${[...fields.keys()].join(', ')}`,
      );
    }
    const raw = asString(v, f);
    if (raw === undefined)
      throw new ConfigError(
        `config file ${path}: "${key}" must be ${f.kind === 'list' ? 'an array of strings or a comma-separated string' : f.kind === 'string' || f.kind === 'level' || f.kind === 'choice' ? 'a string' : 'a number or a string'}`,
      );
    values[key] = f.path === true && raw !== '' ? resolve(dirname(path), raw) : raw;
  }
  return { path, values };
}

function asString(v: unknown, f: Field): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && ['port', 'port?', 'int'].includes(f.kind)) return String(v);
  if (f.kind === 'list' && Array.isArray(v) && v.every((x) => typeof x === 'string'))
    return v.join(',');
  return undefined;
}

/**
 * A warning when the file holds a secret (a NATS password or token, a database URL with a
 * password) and others may read it: the hub still starts, the operator is told.
 */
export function configFileWarning(path: string): string | undefined {
  if (path === '') return undefined;
  try {
    if ((statSync(path).mode & 0o077) === 0) return undefined;
    const text = readFileSync(path, 'utf8');
    const secret =
      /"nats-(password|token)"\s*:\s*"[^"]/.test(text) ||
      /postgres(ql)?:\/\/[^"@/\s]*:[^"@/\s]+@/.test(text);
    return secret
      ? `config file ${path} holds a password or token and others may read it: chmod 600 it, or move the secret to the environment (BULWARK_DATABASE, BULWARK_NATS_PASSWORD)`
      : undefined;
  } catch {
    return undefined; // read once already; nothing to add
  }
}

import type { Context } from '../command.js';
import { formatTable, type Column, listJson } from '../output.js';

/** A JSON value as the twin and command parameters carry it. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

const isObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A command-line value: JSON when it parses as JSON (`30`, `true`, `null`, `"x"`, `[1,2]`, `{…}`),
 * else the text itself, so `level=debug` needs no quoting but `port="8080"` stays a string.
 */
export function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/**
 * Sets `value` at a dotted path in `target`, creating objects on the way. A path that runs through
 * a value already set (`a=1 a.b=2`) or sets one twice is a mistake, never a silent overwrite.
 */
function setPath(target: JsonObject, path: string, value: JsonValue, what: string): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '')) throw new Error(`${what}: '${path}' is not a dotted path`);
  let node = target;
  keys.forEach((key, i) => {
    const last = i === keys.length - 1;
    const existing = Object.hasOwn(node, key) ? node[key] : undefined;
    if (last) {
      if (existing !== undefined) throw new Error(`${what}: '${path}' is set twice`);
      node[key] = value;
      return;
    }
    if (existing === undefined) {
      const child: JsonObject = {};
      node[key] = child;
      node = child;
    } else if (isObject(existing)) {
      node = existing;
    } else {
      throw new Error(`${what}: '${keys.slice(0, i + 1).join('.')}' is set and also has children`);
    }
  });
}

/** Deep-merges `extra` into `base` (both plain objects), refusing to set any leaf twice. */
function mergeInto(base: JsonObject, extra: JsonObject, what: string, prefix = ''): void {
  for (const [key, value] of Object.entries(extra)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const existing = Object.hasOwn(base, key) ? base[key] : undefined;
    if (existing === undefined) base[key] = value;
    else if (isObject(existing) && isObject(value)) mergeInto(existing, value, what, path);
    else throw new Error(`${what}: '${path}' is set twice`);
  }
}

/**
 * Builds a JSON merge patch (RFC 7396) from `path=value` assignments and an optional JSON object:
 * `sampling.interval=30` sets a nested value, `path=null` deletes it (RFC 7396 §2).
 */
export function buildMergePatch(assignments: readonly string[], json?: string): JsonObject {
  const patch: JsonObject = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new Error(`--patch is not JSON: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new Error('--patch must be a JSON object');
    mergeInto(patch, parsed, 'patch');
  }
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`'${a}' is not PATH=VALUE`);
    setPath(patch, a.slice(0, eq), parseValue(a.slice(eq + 1)), 'patch');
  }
  return patch;
}

/** Command parameters from `--param k=v` flags (dotted keys nest, values as in `parseValue`). */
export function buildParams(pairs: readonly string[]): JsonObject {
  const params: JsonObject = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--param '${p}' is not KEY=VALUE`);
    setPath(params, p.slice(0, eq), parseValue(p.slice(eq + 1)), '--param');
  }
  return params;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in whole seconds from `90`, `90s`, `10m`, `2h`, `1d` or a sum such as `1h30m`. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+[smhd])+$/.test(text)) {
    throw new Error(`'${text}' is not a duration (e.g. 30s, 10m, 1h30m)`);
  }
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) {
    seconds += Number(n) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return seconds;
}

// Ids are UUIDs (the API's `format: uuid`), checked here so a name or a typo gets a usage error
// that says where to find the id instead of a request-field validation message.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An id given as an argument or flag (`what`, e.g. `ARTIFACT` or `--device`): returned when it is
 * a UUID, else a usage error naming the command that lists such ids (`listedBy`).
 */
export function idArg(ctx: Context, what: string, value: string, listedBy: string): string {
  if (UUID.test(value)) return value;
  throw ctx.usage(
    `${what} ${JSON.stringify(value)} is not an id (a UUID, as \`${listedBy}\` shows)`,
  );
}

/** Runs a parser over a flag's text, turning its complaint into a usage error of the command. */
export function parsed<T>(ctx: Context, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw ctx.usage((err as Error).message);
  }
}

/** The `--tag/--type/--location` flags that pick a set of devices instead of one DEVICE. */
export const SELECTOR_OPTIONS = {
  tag: { type: 'string', value: 'TAG', help: 'instead of DEVICE: every device with this tag' },
  type: { type: 'string', value: 'TYPE', help: 'instead of DEVICE: every device of this type' },
  location: {
    type: 'string',
    value: 'ID',
    help: 'instead of DEVICE: every device in this location or below it',
  },
} as const;

/** The device selector the flags give, if any (each given flag narrows the set). */
export interface DeviceSelector {
  type?: string;
  tag?: string;
  location?: string;
}

/**
 * Either one DEVICE argument or a selector from the flags, never both and never neither: a bulk
 * change must be asked for explicitly.
 */
export function deviceOrSelector(
  ctx: Context,
  device: string | undefined,
): { device: string } | { filter: DeviceSelector } {
  const filter: DeviceSelector = {};
  for (const key of ['type', 'tag', 'location'] as const) {
    const v = ctx.str(key);
    if (v !== undefined) filter[key] = v;
  }
  const bulk = Object.keys(filter).length > 0;
  if (device !== undefined && bulk) {
    throw ctx.usage('give either DEVICE or --tag/--type/--location, not both');
  }
  if (device !== undefined) return { device };
  if (!bulk) throw ctx.usage('missing DEVICE (or --tag/--type/--location for many devices)');
  return { filter };
}

/** The paging flags of a list command. */
export const PAGE_OPTIONS = {
  limit: { type: 'string', value: 'N', help: 'page size (1-500, default 50)' },
  cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
  all: { type: 'boolean', help: 'follow pages until every item is listed' },
} as const;

/** Prints a page (or, with --all, every page) of a list as a table. */
export async function printList<T>(
  ctx: Context,
  columns: Column<T>[],
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
  all: () => AsyncIterable<T>,
): Promise<void> {
  if (ctx.flag('all')) {
    const items: T[] = [];
    for await (const x of all()) items.push(x);
    ctx.print(listJson(items), () => formatTable(items, columns));
    return;
  }
  const p = await page(ctx.str('cursor'));
  ctx.print(listJson(p.items, p.nextCursor), () => {
    const more = p.nextCursor === null ? '' : `(more: --cursor ${p.nextCursor}, or --all)\n`;
    return formatTable(p.items, columns) + more;
  });
}

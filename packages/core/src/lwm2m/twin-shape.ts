/**
 * How an LwM2M client appears in its device twin (decision 0043):
 * - reported `lwm2m`: the registration (endpoint, lifetime, version, binding, objects, registered),
 *   the paths observed and the channel notifications land in;
 * - reported `objects`: values read, nested by path ("/3/0/9" → objects["3"]["0"]["9"]);
 * - desired `objects`: values to write, in the same shape; desired `lwm2m.observe` (paths) and
 *   `lwm2m.channel` (a channel id) say what to observe and where notifications go; desired
 *   `lwm2m.attributes` ({ "/3/0/9": { pmin, pmax, gt, lt, st } }) is written (Write-Attributes)
 *   before those observations.
 */
import type { TwinState, TwinValue } from '@bulwark/protocol';
import type { Lwm2mRecord } from './content.js';
import { parsePath } from './path.js';
import type { Lwm2mValue } from './tlv.js';

/** What the desired twin asks of an LwM2M client. */
export interface Lwm2mDesired {
  /** Resource path → value to write. */
  writes: Map<string, Lwm2mValue>;
  observe: string[];
  channel: string | null;
  /** Path → notification attributes to write before observing (`lwm2m.attributes`), unchecked. */
  attributes: Map<string, TwinValue>;
}

const isObj = (v: unknown): v is { [k: string]: TwinValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the desired twin's LwM2M parts; what is not a path or a scalar value is ignored. */
export function desiredOf(state: TwinState | undefined): Lwm2mDesired {
  const writes = new Map<string, Lwm2mValue>();
  const walk = (v: TwinValue, path: string[]) => {
    if (isObj(v)) {
      if (path.length >= 4) return;
      for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
    } else if (
      path.length >= 3 &&
      (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    ) {
      const p = `/${path.join('/')}`;
      try {
        parsePath(p);
        writes.set(p, v);
      } catch {
        // not a path: ignored (the twin may hold other keys)
      }
    }
  };
  const objects = state?.['objects'];
  if (isObj(objects)) walk(objects, []);
  const l = state?.['lwm2m'];
  const observe =
    isObj(l) && Array.isArray(l['observe'])
      ? l['observe'].filter((p): p is string => typeof p === 'string').slice(0, 32)
      : [];
  const channel = isObj(l) && typeof l['channel'] === 'string' ? l['channel'] : null;
  const attrs = isObj(l) && isObj(l['attributes']) ? l['attributes'] : {};
  const attributes = new Map(Object.entries(attrs).slice(0, 32));
  return { writes, observe, channel, attributes };
}

/** Merges read records into a reported `objects` tree (a copy). */
export function mergeRecords(objects: TwinState, records: readonly Lwm2mRecord[]): TwinState {
  const out = structuredClone(objects);
  for (const r of records) {
    const ids = parsePath(r.path).map(String);
    let node: { [k: string]: TwinValue } = out;
    for (const id of ids.slice(0, -1)) {
      const next = node[id];
      node = isObj(next) ? next : (node[id] = {});
    }
    node[ids[ids.length - 1]!] = r.value;
  }
  return out;
}

/** The value at a path in a reported `objects` tree, if any. */
export function valueAt(objects: TwinValue | undefined, path: string): TwinValue | undefined {
  let node: TwinValue | undefined = objects;
  for (const id of parsePath(path)) node = isObj(node) ? node[String(id)] : undefined;
  return node;
}

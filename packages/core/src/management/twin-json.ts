/**
 * JSON helpers of the device twin: RFC 7386 merge patches, the delta between desired and reported
 * state, and the limits that keep a twin small enough to send in one MQTT message.
 */
import { Buffer } from 'node:buffer';
import { BulwarkError, type TwinState, type TwinValue } from '@bulwark/protocol';

/** Deepest nesting of a twin value: configuration sections, not arbitrary documents. */
export const MAX_TWIN_DEPTH = 16;
/** Largest serialized twin state: it travels as one retained MQTT message to small devices. */
export const MAX_TWIN_BYTES = 64 * 1024;

/** Is `v` a plain JSON object (not null, not an array)? */
export function isObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Is `v` a JSON value within the depth limit (finite numbers, no undefined, no functions)?
 * Returns a problem description, or null when it is fine.
 */
export function jsonProblem(v: unknown, path = '', depth = 0): string | null {
  if (depth > MAX_TWIN_DEPTH) return `${path || 'value'} is nested deeper than ${MAX_TWIN_DEPTH}`;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${path} is not a finite number`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = jsonProblem(v[i], `${path}[${i}]`, depth + 1);
      if (p !== null) return p;
    }
    return null;
  }
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const p = jsonProblem(x, path ? `${path}.${k}` : k, depth + 1);
      if (p !== null) return p;
    }
    return null;
  }
  return `${path || 'value'} is not a JSON value`;
}

/** RFC 7386 §2: applies a merge patch to a target (null deletes, objects merge, the rest replace). */
export function mergePatch(target: TwinValue | undefined, patch: TwinValue): TwinValue {
  if (!isObject(patch)) return patch;
  const out: { [key: string]: TwinValue } = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Deep equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The desired values that differ from the reported ones, as a JSON object of only the differing
 * paths (objects are compared member by member; any other value is compared whole). A desired
 * value the device does not report at all is part of the delta; reported extras are not.
 */
export function twinDelta(desired: TwinState, reported: TwinState | undefined): TwinState {
  const out: TwinState = {};
  for (const [k, d] of Object.entries(desired)) {
    const r = reported?.[k];
    if (isObject(d) && isObject(r)) {
      const sub = twinDelta(d, r);
      if (Object.keys(sub).length > 0) out[k] = sub;
    } else if (!jsonEqual(d, r)) {
      out[k] = d;
    }
  }
  return out;
}

/** Checks a twin state against the limits; throws BulwarkError `twin_invalid`. */
export function checkTwinState(state: unknown, what: string): asserts state is TwinState {
  if (!isObject(state)) throw new BulwarkError('twin_invalid', `${what} must be a JSON object`);
  const p = jsonProblem(state);
  if (p !== null) throw new BulwarkError('twin_invalid', `${what}: ${p}`);
  const size = Buffer.byteLength(JSON.stringify(state));
  if (size > MAX_TWIN_BYTES) {
    throw new BulwarkError(
      'twin_invalid',
      `${what} is ${size} bytes serialized; at most ${MAX_TWIN_BYTES} are allowed`,
    );
  }
}

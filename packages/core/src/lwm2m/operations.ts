/**
 * The checks of the LwM2M operations an operator asks for beyond Read/Write/Execute (decision 0043,
 * 2026-12-07): Create and Delete of object instances (never of Security /0 or Server /1, which only
 * the bootstrap server writes — decision 0045) and Write-Attributes (Core §5.1.2). Bad input is
 * `validation_failed` before anything reaches a device.
 */
import { BulwarkError, type TwinValue } from '@bulwark/protocol';
import { formatPath, parsePath } from './path.js';
import type { Lwm2mAttributes } from './registration.js';
import type { Lwm2mValue } from './tlv.js';

/** Objects only the bootstrap server creates, writes or deletes (Security, Server). */
export const BOOTSTRAP_ONLY_OBJECTS: readonly number[] = [0, 1];
const NAMES = ['pmin', 'pmax', 'gt', 'lt', 'st'] as const;
const MAX_PERIOD = 2 ** 31 - 1;
/** Resources one Create carries at most (one datagram's worth). */
const MAX_CREATE_VALUES = 64;

const bad = (why: string) => new BulwarkError('validation_failed', `LwM2M: ${why}`);

function notBootstrapOnly(ids: readonly number[]): void {
  if (BOOTSTRAP_ONLY_OBJECTS.includes(ids[0]!)) {
    throw bad(`object /${ids[0]} is written by the bootstrap server only (decision 0045)`);
  }
}

/** A Create's target: an object path ("/31024"), its optional instance id and resource values. */
export function checkCreate(
  path: unknown,
  instance: unknown,
  values: unknown,
): { path: string; instance?: number; values: Map<number, Lwm2mValue> } {
  const ids = parsePath(typeof path === 'string' ? path : '');
  if (ids.length !== 1) throw bad('Create takes an object path (/object)');
  notBootstrapOnly(ids);
  if (instance !== undefined && instance !== null) {
    if (typeof instance !== 'number' || !Number.isInteger(instance) || instance < 0)
      throw bad('instance must be an integer 0..65534');
    if (instance > 65534) throw bad('instance must be an integer 0..65534 (65535 is reserved)');
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw bad('values is an object of resource id → value');
  const out = new Map<number, Lwm2mValue>();
  for (const [k, v] of Object.entries(values as Record<string, TwinValue>)) {
    if (!/^(0|[1-9]\d{0,4})$/.test(k) || Number(k) > 65535) throw bad(`"${k}" is no resource id`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw bad(`resource ${k}: a value is a string, number or boolean`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw bad(`resource ${k}: not finite`);
    if (typeof v === 'string' && v.length > 1024)
      throw bad(`resource ${k}: at most 1024 characters`);
    out.set(Number(k), v);
  }
  if (out.size > MAX_CREATE_VALUES) throw bad(`at most ${MAX_CREATE_VALUES} values`);
  return {
    path: formatPath(ids),
    ...(typeof instance === 'number' ? { instance } : {}),
    values: out,
  };
}

/** A Delete's target: an object instance ("/31024/5"). */
export function checkDelete(path: unknown): string {
  const ids = parsePath(typeof path === 'string' ? path : '');
  if (ids.length !== 2) throw bad('Delete takes an object instance path (/object/instance)');
  notBootstrapOnly(ids);
  return formatPath(ids);
}

/**
 * Notification attributes: pmin ≤ pmax, whole seconds; thresholds finite, st ≥ 0, and when gt, lt
 * and st are all given lt + 2·st < gt (Core §5.1.2). `null` removes an attribute.
 */
export function checkAttributes(raw: unknown): Lwm2mAttributes {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad('attributes is an object (pmin, pmax, gt, lt, st)');
  const a: Lwm2mAttributes = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(NAMES as readonly string[]).includes(k))
      throw bad(`"${k}" is not a notification attribute (pmin, pmax, gt, lt, st)`);
    if (v === null) {
      a[k as keyof Lwm2mAttributes] = null;
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${k} must be a number`);
    if ((k === 'pmin' || k === 'pmax') && (!Number.isInteger(v) || v < 0 || v > MAX_PERIOD))
      throw bad(`${k} is whole seconds 0..${MAX_PERIOD}`);
    if (k === 'st' && v < 0) throw bad('st must not be negative');
    a[k as keyof Lwm2mAttributes] = v;
  }
  if (Object.keys(a).length === 0) throw bad('give at least one attribute');
  if (typeof a.pmin === 'number' && typeof a.pmax === 'number' && a.pmin > a.pmax)
    throw bad('pmin must not exceed pmax');
  if (typeof a.gt === 'number' && typeof a.lt === 'number') {
    const st = typeof a.st === 'number' ? a.st : 0;
    if (!(a.lt + 2 * st < a.gt)) throw bad('lt + 2·st must be below gt');
  }
  return a;
}

/** The Uri-Query of a Write-Attributes: "pmin=10", or "pmin" alone to remove it. */
export function attributeQuery(a: Lwm2mAttributes): string[] {
  return NAMES.filter((k) => a[k] !== undefined).map((k) =>
    a[k] === null ? k : `${k}=${String(a[k])}`,
  );
}

/** Write-Attributes targets an object, instance or resource (Core §6.3.4). */
export function checkAttributesPath(path: unknown): string {
  const ids = parsePath(typeof path === 'string' ? path : '');
  if (ids.length > 3) throw bad('Write-Attributes takes /object[/instance[/resource]]');
  return formatPath(ids);
}

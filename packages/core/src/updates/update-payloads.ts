/**
 * Parsing what a device sends on its update plane (protocol updates.ts): `updates/{jobId}/status`
 * and `firmware`. Each parser takes the raw MQTT payload and returns the typed message or throws
 * BulwarkError `device_payload_invalid` naming the first problem, so the transport refuses the
 * publish with 0x99 (Payload format invalid) and nothing changes.
 */
import { Buffer } from 'node:buffer';
import {
  BulwarkError,
  UPDATE_JOB_STATES,
  type DeltaSaving,
  type DeviceReportedUpdateState,
  type InstalledFirmware,
  type UpdateStatusReport,
} from '@bulwark/protocol';

/** The largest update-plane message accepted, in bytes. */
export const MAX_UPDATE_PAYLOAD_BYTES = 16 * 1024;

const REPORTED_STATES: readonly string[] = UPDATE_JOB_STATES.filter(
  (s) => s !== 'queued' && s !== 'timed_out',
);

type Obj = { [key: string]: unknown };

const fail = (topic: string, why: string): never => {
  throw new BulwarkError('device_payload_invalid', `${topic}: ${why}`);
};
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function onlyKeys(topic: string, o: Obj, allowed: readonly string[], where = ''): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(topic, `unknown field "${where}${k}"`);
  }
}

function parseJson(topic: string, payload: Uint8Array): Obj {
  if (payload.byteLength > MAX_UPDATE_PAYLOAD_BYTES)
    fail(topic, `payload is ${payload.byteLength} bytes; at most ${MAX_UPDATE_PAYLOAD_BYTES}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return fail(topic, 'payload is not JSON (UTF-8)');
  }
  return isObj(v) ? v : fail(topic, 'must be a JSON object');
}

/** A short string field (absent → undefined). */
function text(topic: string, o: Obj, key: string, max: number, pattern?: RegExp) {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (pattern && !pattern.test(v)))
    return fail(topic, `"${key}" must be a string of 1..${max} characters`);
  return v;
}

const CODE = /^[a-z0-9][a-z0-9_.:-]*$/;

/** Checks an InstalledFirmware object (also nested in a status report as `installed`). */
export function checkInstalledFirmware(topic: string, v: unknown, where = ''): InstalledFirmware {
  if (!isObj(v)) return fail(topic, `"${where || 'firmware'}" must be a JSON object`);
  onlyKeys(topic, v, ['type', 'hardware', 'version', 'releaseCounter', 'slot'], where);
  const type = text(topic, v, 'type', 128);
  const version = text(topic, v, 'version', 128);
  if (type === undefined || version === undefined)
    return fail(topic, `"${where}type" and "${where}version" are required`);
  if (!isCount(v['releaseCounter']))
    return fail(topic, `"${where}releaseCounter" must be a non-negative integer`);
  const out: InstalledFirmware = { type, version, releaseCounter: v['releaseCounter'] };
  const hardware = text(topic, v, 'hardware', 128);
  if (hardware !== undefined) out.hardware = hardware;
  if (v['slot'] !== undefined) {
    if (v['slot'] !== 'a' && v['slot'] !== 'b') return fail(topic, `"${where}slot" must be a or b`);
    out.slot = v['slot'];
  }
  return out;
}

/**
 * Checks an UpdateStatusReport object (the MQTT payload's JSON, or another transport's body):
 * a device-reportable state, progress within its total, `installed` only with succeeded /
 * rolled_back.
 */
export function checkUpdateStatusReport(topic: string, v: unknown): UpdateStatusReport {
  if (!isObj(v)) return fail(topic, 'must be a JSON object');
  onlyKeys(topic, v, ['state', 'progress', 'reason', 'message', 'delta', 'installed', 'cancel']);
  const state = v['state'];
  if (typeof state !== 'string' || !REPORTED_STATES.includes(state))
    return fail(topic, `"state" must be one of ${REPORTED_STATES.join(', ')}`);
  const out: UpdateStatusReport = { state: state as DeviceReportedUpdateState };
  const p = v['progress'];
  if (p !== undefined) {
    if (!isObj(p) || !isCount(p['bytes']) || !isCount(p['total']) || p['bytes'] > p['total'])
      return fail(topic, '"progress" must be { bytes, total } with 0 ≤ bytes ≤ total');
    onlyKeys(topic, p, ['bytes', 'total'], 'progress.');
    out.progress = { bytes: p['bytes'], total: p['total'] };
  }
  const reason = text(topic, v, 'reason', 64, CODE);
  if (reason !== undefined) out.reason = reason;
  const message = text(topic, v, 'message', 2048);
  if (message !== undefined) out.message = message;
  const d = v['delta'];
  if (d !== undefined) {
    if (
      !isObj(d) ||
      !isCount(d['totalBytes']) ||
      !isCount(d['downloadedBytes']) ||
      !isCount(d['reusedBytes'])
    )
      return fail(topic, '"delta" must be { totalBytes, downloadedBytes, reusedBytes } counts');
    onlyKeys(topic, d, ['totalBytes', 'downloadedBytes', 'reusedBytes'], 'delta.');
    const delta: DeltaSaving = {
      totalBytes: d['totalBytes'],
      downloadedBytes: d['downloadedBytes'],
      reusedBytes: d['reusedBytes'],
    };
    out.delta = delta;
  }
  if (v['installed'] !== undefined) {
    if (state !== 'succeeded' && state !== 'rolled_back')
      return fail(topic, '"installed" belongs only to succeeded and rolled_back');
    out.installed = checkInstalledFirmware(topic, v['installed'], 'installed.');
  }
  if (v['cancel'] !== undefined) {
    if (v['cancel'] !== 'refused') return fail(topic, '"cancel" must be "refused"');
    out.cancel = 'refused';
  }
  return out;
}

/** `updates/{jobId}/status`: an UpdateStatusReport. */
export function parseUpdateStatusReport(payload: Uint8Array): UpdateStatusReport {
  const t = 'updates/{jobId}/status';
  return checkUpdateStatusReport(t, parseJson(t, payload));
}

/** `firmware`: InstalledFirmware, after every connect and every commit. */
export function parseInstalledFirmware(payload: Uint8Array): InstalledFirmware {
  const t = 'firmware';
  return checkInstalledFirmware(t, parseJson(t, payload));
}

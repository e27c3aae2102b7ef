/**
 * Parsing what a device sends on its update plane (protocol updates.ts): `updates/{jobId}/status`
 * and `firmware`. Each parser takes the raw MQTT payload, checks it against the message's schema
 * in protocol (update-schemas.ts) and the rules a schema cannot say — a download's bytes not above
 * its total, `installed` only with succeeded / rolled_back — and returns the typed message or
 * throws BulwarkError `device_payload_invalid` naming the first problem, so the transport refuses
 * the publish with 0x99 (Payload format invalid) and nothing changes.
 */
import {
  BulwarkError,
  firstProblem,
  InstalledFirmwarePayload,
  UpdateStatusReportPayload,
  type InstalledFirmware,
  type UpdateStatusReport,
} from '@bulwark/protocol';
import { decodePayload, parseJsonPayload } from '../management/device-payloads.js';

/** The largest update-plane message accepted, in bytes. */
export const MAX_UPDATE_PAYLOAD_BYTES = 16 * 1024;

const fail = (topic: string, why: string): never => {
  throw new BulwarkError('device_payload_invalid', `${topic}: ${why}`);
};

/** A copy with only the fields the contract knows, in its order. */
function installedOf(v: InstalledFirmware): InstalledFirmware {
  return {
    type: v.type,
    ...(v.hardware !== undefined ? { hardware: v.hardware } : {}),
    version: v.version,
    releaseCounter: v.releaseCounter,
    ...(v.slot !== undefined ? { slot: v.slot } : {}),
  };
}

/**
 * Checks an UpdateStatusReport object (the MQTT payload's JSON, or another transport's body):
 * its schema, progress within its total, `installed` only with succeeded / rolled_back.
 */
export function checkUpdateStatusReport(topic: string, v: unknown): UpdateStatusReport {
  const problem = firstProblem(UpdateStatusReportPayload, v);
  if (problem !== null) fail(topic, problem);
  const r = v as UpdateStatusReport;
  if (r.progress !== undefined && r.progress.bytes > r.progress.total)
    fail(topic, '"progress" must be { bytes, total } with 0 ≤ bytes ≤ total');
  if (r.installed !== undefined && r.state !== 'succeeded' && r.state !== 'rolled_back')
    fail(topic, '"installed" belongs only to succeeded and rolled_back');
  return {
    state: r.state,
    ...(r.progress !== undefined
      ? { progress: { bytes: r.progress.bytes, total: r.progress.total } }
      : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.message !== undefined ? { message: r.message } : {}),
    ...(r.delta !== undefined
      ? {
          delta: {
            totalBytes: r.delta.totalBytes,
            downloadedBytes: r.delta.downloadedBytes,
            reusedBytes: r.delta.reusedBytes,
          },
        }
      : {}),
    ...(r.installed !== undefined ? { installed: installedOf(r.installed) } : {}),
    ...(r.cancel !== undefined ? { cancel: r.cancel } : {}),
  };
}

/** `updates/{jobId}/status`: an UpdateStatusReport. */
export function parseUpdateStatusReport(payload: Uint8Array): UpdateStatusReport {
  const t = 'updates/{jobId}/status';
  return checkUpdateStatusReport(t, parseJsonPayload(t, payload, MAX_UPDATE_PAYLOAD_BYTES));
}

/** `firmware`: InstalledFirmware, after every connect and every commit. */
export function parseInstalledFirmware(payload: Uint8Array): InstalledFirmware {
  const t = 'firmware';
  return installedOf(
    decodePayload<InstalledFirmware>(
      t,
      InstalledFirmwarePayload,
      payload,
      MAX_UPDATE_PAYLOAD_BYTES,
    ),
  );
}

/**
 * The JSON documents of hawkBit's DDI API v1 as Bulwark serves them (decision 0012). Field names
 * and shapes follow hawkBit's DDI reference; action ids are strings of the job's integer
 * `actionId`, because clients parse them as integers (SWUpdate's suricatta uses `json_object_get_int`).
 */
import { createHash } from 'node:crypto';
import type { FirmwareArtifactRecord, UpdateJobRecord } from '@bulwark/core';
import type { LegacyHashes } from './hashes.js';

type Link = { href: string };

/** `HH:MM:SS` for a polling interval in seconds (hawkBit's `config.polling.sleep`). */
export function pollingSleep(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** The controller's base URL: `https://host/{tenant}/controller/v1/{controllerId}`. */
export function controllerBase(origin: string, tenant: string, controllerId: string): string {
  return `${origin}/${encodeURIComponent(tenant)}/controller/v1/${encodeURIComponent(controllerId)}`;
}

/**
 * The `c` query parameter hawkBit appends to the deployment link: it changes whenever the
 * deployment does, so a client can tell a new one from one it has seen. Ours hashes the job.
 */
function changeMark(job: UpdateJobRecord): string {
  return createHash('sha256').update(`${job.id}/${job.artifactId}`).digest('hex').slice(0, 12);
}

/**
 * GET {base}: the polling interval and what the controller should do next — install the open job
 * (`deploymentBase`), or stop one the hub asked to cancel or ended after the controller took it
 * (`cancelAction`).
 */
export function pollingBase(
  base: string,
  pollSeconds: number,
  next: { open: UpdateJobRecord } | { cancel: UpdateJobRecord } | null,
  wantConfigData: boolean,
) {
  const links: Record<string, Link> = {};
  if (next && 'open' in next)
    links['deploymentBase'] = {
      href: `${base}/deploymentBase/${next.open.actionId}?c=${changeMark(next.open)}`,
    };
  else if (next) links['cancelAction'] = { href: `${base}/cancelAction/${next.cancel.actionId}` };
  if (wantConfigData) links['configData'] = { href: `${base}/configData` };
  return { config: { polling: { sleep: pollingSleep(pollSeconds) } }, _links: links };
}

/** GET {base}/deploymentBase/{actionId}: one chunk (`os`) with the artifact's image. */
export function deploymentBase(
  base: string,
  job: UpdateJobRecord,
  artifact: FirmwareArtifactRecord,
  hashes: LegacyHashes,
) {
  const file = `${base}/softwaremodules/${artifact.id}/artifacts/${encodeURIComponent(artifact.name)}`;
  return {
    id: String(job.actionId),
    deployment: {
      // Bulwark deploys are not time-forced; "forced" tells the client to go ahead now rather than
      // wait for a user's consent, which is what a job means.
      download: 'forced',
      update: 'forced',
      chunks: [
        {
          part: 'os',
          name: artifact.name,
          version: artifact.version,
          artifacts: [
            {
              filename: artifact.name,
              hashes: { sha1: hashes.sha1, md5: hashes.md5, sha256: artifact.sha256 },
              size: artifact.length,
              // HTTPS only: the hub has no plain-HTTP listener, so no `download-http` link.
              _links: { download: { href: file }, md5sum: { href: `${file}.MD5SUM` } },
            },
          ],
        },
      ],
    },
    actionHistory: {
      status: job.state,
      messages: job.history.slice(-10).map((h) => `${h.state}${h.message ? `: ${h.message}` : ''}`),
    },
  };
}

/** GET {base}/cancelAction/{actionId}: the action to stop (Bulwark cancels one job per action). */
export function cancelAction(job: UpdateJobRecord) {
  return { id: String(job.actionId), cancelAction: { stopId: String(job.actionId) } };
}

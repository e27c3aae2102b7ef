/**
 * The image download of LwM2M firmware jobs (decision 0044): the Package URI the server writes to
 * a device's /5/0/1 is `GET /lwm2m/firmware/{orgId}/{jobId}/{expires}/{mac}` on the HTTPS port —
 * a link that is its own short-lived, job-scoped credential (core's `Lwm2mFirmwareUrls`), because a
 * constrained client cannot add a header to a URI it is given. One HTTP Range is honoured (206,
 * 416) so a device resumes; HEAD answers the length. A refused link changes nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FirmwareDownloadGrant, FirmwareRepoService } from '@bulwark/core';
import { sendImage } from './send-image.js';

/** What the route needs: the link check and the repository that serves the image. */
export interface Lwm2mFirmwareDownloadDeps {
  resolve(
    orgId: string,
    jobId: string,
    expires: string,
    mac: string,
  ): Promise<FirmwareDownloadGrant>;
  firmware: Pick<FirmwareRepoService, 'get' | 'download'>;
}

type Params = { orgId: string; jobId: string; expires: string; mac: string };

/** Registers GET and HEAD of the download links on the app (the app's problem+json errors). */
export function registerLwm2mFirmwareRoutes(
  app: FastifyInstance,
  d: Lwm2mFirmwareDownloadDeps,
): void {
  const serve = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const { orgId, jobId, expires, mac } = req.params;
    const grant = await d.resolve(orgId, jobId, expires, mac);
    if (req.method === 'HEAD') {
      // The length and validators only: no image stream is opened.
      const a = await d.firmware.get(grant.principal, grant.artifactId);
      return reply
        .code(200)
        .header('accept-ranges', 'bytes')
        .header('etag', `"${a.sha256}"`)
        .header('cache-control', 'no-store')
        .header('content-length', String(a.length))
        .type('application/octet-stream')
        .send();
    }
    const dl = await d.firmware.download(grant.principal, grant.artifactId, req.headers.range);
    return sendImage(reply, dl, dl.artifact, { 'cache-control': 'no-store' });
  };
  const path = '/lwm2m/firmware/:orgId/:jobId/:expires/:mac';
  app.head<{ Params: Params }>(path, serve);
  app.get<{ Params: Params }>(path, { exposeHeadRoute: false }, serve);
}

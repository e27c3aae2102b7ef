/**
 * A firmware image as an HTTP answer, for the routes outside the route table that stream one (the
 * hawkBit DDI download, LwM2M firmware links): the whole image (200), the one range asked for
 * (206), or 416 with the length, each with `accept-ranges` and the image's sha256 as its ETag.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { contentRange, type FirmwareRepoService } from '@bulwark/core';

type Download = Awaited<ReturnType<FirmwareRepoService['download']>>;

export function sendImage(
  reply: FastifyReply,
  dl: Download,
  image: { length: number; sha256: string },
  headers: Record<string, string> = {},
): FastifyReply {
  const len = image.length;
  reply.header('accept-ranges', 'bytes').header('etag', `"${image.sha256}"`).headers(headers);
  if (dl.kind === 'unsatisfiable')
    return reply.code(416).header('content-range', contentRange(len)).send();
  reply.type('application/octet-stream');
  if (dl.kind === 'full')
    return reply.code(200).header('content-length', String(len)).send(Readable.from(dl.body));
  const { start, end } = dl.range;
  return reply
    .code(206)
    .header('content-range', contentRange(len, dl.range))
    .header('content-length', String(end - start + 1))
    .send(Readable.from(dl.body));
}

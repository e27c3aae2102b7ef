/** POST /channels/{id}/messages[/…]: publish, block-wise if large (RFC 7252 §5.8.2, RFC 7959 §2.3). */
import { BulwarkError } from '@bulwark/protocol';
import { MAX_SZX, decodeBlock, encodeBlock } from '../block-option.js';
import { contentTypeOf } from '../content-format.js';
import type { Exchange } from '../context.js';
import { OPT, decodeUint, firstValue } from '../options.js';
import { resourceKey } from '../resource.js';

/** Handles one POST (or one block of it); 2.04 goes out only after `ingest` resolved. */
export async function handlePost(x: Exchange): Promise<void> {
  const cf = firstValue(x.meta.options, OPT.ContentFormat);
  const format = cf === undefined ? undefined : decodeUint(cf);
  // No Content-Format: the channel's payload format applies (else opaque bytes).
  if (format !== undefined && contentTypeOf(format) === undefined) {
    throw new BulwarkError(
      'unsupported_media_type',
      `Content-Format ${format ?? '?'} is not accepted`,
    );
  }
  const payload = x.packet.payload ?? Buffer.alloc(0);
  let body: Buffer;
  let block1Echo: Buffer | undefined;
  const block1Raw = firstValue(x.meta.options, OPT.Block1);
  if (block1Raw !== undefined) {
    const block = decodeBlock(block1Raw);
    if (block === undefined)
      throw new BulwarkError('validation_failed', 'Block1 option is malformed');
    const s1 = firstValue(x.meta.options, OPT.Size1);
    const size1 = s1 === undefined ? undefined : decodeUint(s1);
    const tag = firstValue(x.meta.options, OPT.RequestTag)?.toString('hex') ?? '';
    // RFC 9175 §3.3: blocks of one body share endpoint, resource and Request-Tag — not the token.
    const key = `${x.endpoint}|${resourceKey(x.ref)}|${tag}`;
    const step = x.ctx.assembler.add(key, x.rsinfo.address, block, payload, size1);
    if (!step.done) {
      // RFC 7959 §2.3: 2.31 Continue acknowledges the block; a smaller SZX states our preference.
      const szx = Math.min(block.szx, MAX_SZX);
      x.reply('2.31', [[OPT.Block1, encodeBlock({ num: block.num, more: true, szx })]]);
      return;
    }
    body = step.body;
    block1Echo = encodeBlock({ num: block.num, more: false, szx: block.szx });
  } else {
    if (payload.length > x.ctx.maxPayloadBytes) {
      throw new BulwarkError(
        'payload_too_large',
        `payload of ${payload.length} bytes exceeds the limit`,
      );
    }
    body = payload;
  }
  await x.ctx.hooks.ingest(x.client, {
    channelId: x.ref.channelId,
    subtopic: x.ref.subtopic,
    contentType: format === undefined ? undefined : contentTypeOf(format),
    payload: body,
  });
  // RFC 7252 §5.9.1.4: 2.04 Changed; RFC 7959 §2.3: the final response echoes Block1.
  x.reply('2.04', block1Echo === undefined ? [] : [[OPT.Block1, block1Echo]]);
}

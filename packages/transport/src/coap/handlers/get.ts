/**
 * GET /channels/{id}/messages[/…]: Observe=0 registers (RFC 7641 §3.1), Observe=1 deregisters
 * (§3.6), Block2 NUM ≥ 1 fetches the rest of a large notification (RFC 7959 §2.6), and a plain GET
 * answers 2.05 with a short text description (the resource is a stream; it has no state to read).
 */
import { BulwarkError } from '@bulwark/protocol';
import { ObserveWriteStream } from 'coap';
import { MAX_SZX, blockSize, decodeBlock, encodeBlock } from '../block-option.js';
import { contentTypeOf } from '../content-format.js';
import type { Exchange } from '../context.js';
import { OPT, decodeUint, encodeUint, firstValue } from '../options.js';
import { resourceKey } from '../resource.js';
import { CoapFault } from '../status.js';

const DESCRIPTION =
  'Bulwark channel messages. POST publishes; GET with Observe=0 subscribes (RFC 7641).';

/** Handles one GET on a channel resource. */
export async function handleGet(x: Exchange): Promise<void> {
  if (!(await x.ctx.hooks.canSubscribe(x.client, x.ref.channelId))) {
    throw new BulwarkError('not_authorized', 'this device may not observe this channel');
  }
  const obs = firstValue(x.meta.options, OPT.Observe);
  const observe = obs === undefined ? undefined : decodeUint(obs);
  const block2Raw = firstValue(x.meta.options, OPT.Block2);
  const block2 = block2Raw === undefined ? undefined : decodeBlock(block2Raw);
  if (block2Raw !== undefined && block2 === undefined) {
    throw new BulwarkError('validation_failed', 'Block2 option is malformed');
  }
  const token = x.packet.token?.toString('hex') ?? '';
  if (observe === 0 && x.res instanceof ObserveWriteStream) {
    register(x, x.res, token, block2?.szx);
    return;
  }
  if (observe === 1) {
    // RFC 7641 §3.6: remove the matching entry, then process the GET as usual.
    const o = x.ctx.observers.byToken(x.endpoint, token);
    if (o !== undefined && x.ctx.observers.remove(o)) o.stream.end();
  }
  if (block2 !== undefined && block2.num > 0) {
    serveBlock(x, block2.num, block2.szx);
    return;
  }
  describe(x);
}

function register(x: Exchange, stream: ObserveWriteStream, token: string, szx?: number): void {
  const acc = firstValue(x.meta.options, OPT.Accept);
  const accept = acc === undefined ? undefined : decodeUint(acc);
  if (accept !== undefined && contentTypeOf(accept) === undefined) {
    throw new CoapFault('4.06', `Accept ${accept} is not a format this resource carries`);
  }
  const now = x.ctx.now();
  const o = {
    client: x.client,
    ref: x.ref,
    resource: resourceKey(x.ref),
    endpoint: x.endpoint,
    token,
    accept,
    szx: Math.min(szx ?? MAX_SZX, MAX_SZX),
    stream,
    seq: 1,
    lastConAt: now,
    pendingCon: undefined,
    pendingConAt: 0,
    mids: [],
  };
  const refused = x.ctx.observers.add(o);
  if (refused !== undefined) {
    // RFC 7641 §4.1: a server unwilling to add the observer answers the GET without Observe.
    x.ctx.counters.refused += 1;
    x.ctx.log?.warn({ client: x.client.id, reason: refused }, 'coap observe refused');
    describe(x, `Not observing: ${refused.replace('_', ' ')} reached.`);
    return;
  }
  const forget = (): void => void x.ctx.observers.remove(o);
  stream.on('finish', forget); // node-coap ends the stream on a Reset or a lost CON notification
  stream.on('error', (err: unknown) => {
    x.ctx.log?.warn({ client: x.client.id, err }, 'coap notification failed');
    forget();
  });
  // RFC 7641 §4.2: the registration response carries Observe; there is no state to send yet.
  x.reply('2.05', [[OPT.Observe, encodeUint(o.seq)]]);
  x.ctx.log?.debug({ client: x.client.id, resource: o.resource }, 'coap observe registered');
}

function serveBlock(x: Exchange, num: number, szx: number): void {
  const rep = x.ctx.representations.get(resourceKey(x.ref), x.ctx.now());
  const size = blockSize(Math.min(szx, MAX_SZX));
  if (rep === undefined || num * size >= rep.payload.length) {
    // RFC 7959 §2.2: a block beyond the representation is 4.02 Bad Option.
    throw new CoapFault('4.02', 'no such block (the representation may have expired)');
  }
  const more = (num + 1) * size < rep.payload.length;
  x.reply(
    '2.05',
    [
      [OPT.ETag, rep.etag],
      [OPT.ContentFormat, encodeUint(rep.contentFormat)],
      [OPT.Block2, encodeBlock({ num, more, szx: Math.min(szx, MAX_SZX) })],
      [OPT.Size2, encodeUint(rep.payload.length)],
    ],
    rep.payload.subarray(num * size, (num + 1) * size),
  );
}

function describe(x: Exchange, note?: string): void {
  const text = note === undefined ? DESCRIPTION : `${DESCRIPTION} ${note}`;
  x.reply('2.05', [[OPT.ContentFormat, encodeUint(0)]], Buffer.from(text));
}

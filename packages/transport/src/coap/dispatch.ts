/**
 * The request listener: checks options, path, method and credentials in that order, then hands
 * the exchange to the POST or GET handler; every error becomes a response through `coapReply`.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { IncomingMessage } from 'coap';
import type { AdapterContext, Exchange, RequestMeta } from './context.js';
import type { CoapClient } from './hooks.js';
import { credentialsOf } from './auth.js';
import { handleGet } from './handlers/get.js';
import { handlePost } from './handlers/post.js';
import { OPT, allValues, unsupportedCritical, type RawOption } from './options.js';
import { parseResource } from './resource.js';
import { respond, type CoapResponse, type WireOption } from './responder.js';
import { CoapFault, coapReply, isRefusal } from './status.js';

const GET = '0.01';
const POST = '0.02';

/** Handles one request node-coap emitted; never throws, always answers exactly once. */
export async function dispatch(
  ctx: AdapterContext,
  req: IncomingMessage,
  res: CoapResponse,
  meta: RequestMeta,
): Promise<void> {
  const packet = req._packet;
  const rsinfo = req.rsinfo;
  let answered = false;
  const reply = (code: string, options: WireOption[] = [], payload?: Buffer): void => {
    if (answered || ctx.closed) return;
    answered = true;
    if (isRefusal(code)) ctx.counters.refused += 1;
    try {
      respond(res, code, options, payload);
    } catch (err) {
      ctx.log?.warn({ err, code }, 'coap response could not be sent');
    }
  };
  ctx.counters.requests += 1;
  try {
    if (meta.overloaded) {
      throw new BulwarkError('unavailable', 'too many requests in progress from this address');
    }
    const critical = unsupportedCritical(meta.options);
    if (critical === OPT.ProxyUri || critical === OPT.ProxyScheme) {
      reply('5.05', [], Buffer.from('this endpoint is not a proxy')); // RFC 7252 §5.7.2
      return;
    }
    if (critical !== undefined) throw new CoapFault('4.02', `option ${critical} is not supported`);
    const ref = parseResource(strings(meta.options, OPT.UriPath));
    if (meta.method !== GET && meta.method !== POST) {
      throw new CoapFault('4.05', 'only POST (publish) and GET (observe) are allowed here');
    }
    const client = await authenticate(ctx, meta, rsinfo.address, rsinfo.port);
    const x: Exchange = {
      ctx,
      req,
      res,
      packet,
      rsinfo,
      endpoint: `${rsinfo.address}:${rsinfo.port}`,
      meta,
      client,
      ref,
      reply,
    };
    await (meta.method === POST ? handlePost(x) : handleGet(x));
  } catch (err) {
    const r = coapReply(err, {
      maxPayloadBytes: ctx.maxPayloadBytes,
      retryAfterSeconds: ctx.limits.retryAfterSeconds,
    });
    if (r.code === '5.00') ctx.log?.warn({ err, from: rsinfo.address }, 'coap request failed');
    reply(r.code, r.options, r.diagnostic === '' ? undefined : Buffer.from(r.diagnostic));
  }
}

/**
 * Who sent the request: over DTLS the association's PSK identity, certificate or raw key, admitted anew at every request
 * (a quarantine or a replaced key takes effect on an open association), and an `auth` query is
 * not looked at; over plain UDP the `auth` query's device key.
 */
async function authenticate(
  ctx: AdapterContext,
  meta: RequestMeta,
  address: string,
  port: number,
): Promise<CoapClient> {
  if (ctx.sessionOf !== undefined) {
    const s = ctx.sessionOf(address, port);
    const hooks = ctx.hooks;
    if (s?.rawPublicKey !== undefined) {
      const client = await hooks.authenticateRawKey?.(s.rawPublicKey, address);
      if (client === undefined)
        throw new BulwarkError('unauthenticated', 'the raw public key is refused');
      return client;
    }
    if (s?.certificate !== undefined && hooks.authenticateCertificate !== undefined) {
      const client = await hooks.authenticateCertificate(s.certificate, address);
      if (client === undefined)
        throw new BulwarkError('unauthenticated', 'the certificate is refused');
      return client;
    }
    if (s === undefined || s.certificate !== undefined || hooks.authenticatePsk === undefined) {
      throw new BulwarkError('unauthenticated', 'no DTLS association for this endpoint');
    }
    const client = await hooks.authenticatePsk(s.identity, s.pskRef, address);
    if (client === undefined)
      throw new BulwarkError('unauthenticated', 'the PSK identity is refused');
    return client;
  }
  const creds = credentialsOf(strings(meta.options, OPT.UriQuery));
  if (creds === undefined) throw new BulwarkError('unauthenticated', 'add ?auth=<deviceId>:<key>');
  const client = await ctx.hooks.authenticate(creds.deviceId, creds.key, address);
  if (client === undefined) throw new BulwarkError('unauthenticated', 'device id or key is wrong');
  return client;
}

function strings(opts: readonly RawOption[], num: number): string[] {
  return allValues(opts, num).map((v) => v.toString('utf8'));
}

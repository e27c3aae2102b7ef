/**
 * The bootstrap interface on the LwM2M wire (Core §6.1, Transport §8.2.2; decision 0045): a
 * client-initiated Bootstrap-Request `POST /bs?ep=NAME` is answered 2.04 when the hub gives a
 * plan; then, on the same association, the server sends the plan's Deletes and Writes and
 * Bootstrap-Finish (`POST /bs`), and tells the hub whether Finish was acknowledged.
 */
import type { Lwm2mBootstrapPlan } from '@bulwark/core';
import { uintOption, type CoapEndpoint, type CoapReply, type CoapRequestIn } from './endpoint.js';
import type { Lwm2mHooks } from './hooks.js';
import { queryOf, replyFor } from './registrations.js';

/** Bootstraps running at once per socket: beyond it a request gets 5.03. */
const MAX_IN_FLIGHT = 256;
const EXPECT: Record<'DELETE' | 'PUT', string[]> = {
  // Deleting an object with no instances left may answer 4.04 on some clients: nothing to delete.
  DELETE: ['2.02', '4.04'],
  PUT: ['2.04'],
};

/** Handles `/bs` (undefined for any other path). */
export function bootstrapInterface(d: {
  hooks: Lwm2mHooks;
  endpoint: () => CoapEndpoint;
  log: { warn(obj: object, msg: string): void };
  maxEndpointLength: number;
  /**
   * Ends the association of a source (DTLS close_notify). After Finish the client must come back
   * with a new handshake under its new key: its Register may not ride the bootstrap credential.
   */
  endAssociation(address: string, port: number): void;
}): (req: CoapRequestIn) => Promise<CoapReply> | undefined {
  const running = new Set<string>();
  const run = async (source: string, plan: Lwm2mBootstrapPlan): Promise<void> => {
    const i = source.lastIndexOf(':');
    const address = source.slice(0, i);
    const port = Number(source.slice(i + 1));
    const ep = d.endpoint();
    try {
      for (const s of plan.steps) {
        const r = await ep.request(address, port, {
          method: s.method,
          path: s.path.split('/').filter(Boolean),
          ...(s.contentFormat === undefined
            ? {}
            : { options: [{ name: 'Content-Format', value: uintOption(s.contentFormat) }] }),
          ...(s.payload ? { payload: s.payload } : {}),
        });
        if (!EXPECT[s.method].includes(r.code)) {
          throw new Error(`${s.method} ${s.path}: the device answered ${r.code}`);
        }
      }
      const fin = await ep.request(address, port, { method: 'POST', path: ['bs'] });
      if (fin.code !== '2.04') throw new Error(`Bootstrap-Finish: the device answered ${fin.code}`);
      // At once (before anything else arrives on it): nothing more rides the bootstrap credential.
      d.endAssociation(address, port);
      await plan.finished();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      d.log.warn({ err, source }, 'LwM2M bootstrap failed');
      await plan.failed(why).catch(() => undefined);
    } finally {
      running.delete(source);
    }
  };
  return (req) => {
    if (req.path[0] !== 'bs' || req.path.length !== 1) return undefined;
    return (async (): Promise<CoapReply> => {
      if (req.method !== 'POST') return { code: '4.05' };
      if (!d.hooks.bootstrap) return { code: '4.04' };
      const ep = queryOf(req.query).get('ep');
      if (!ep || ep.length > d.maxEndpointLength) {
        return { code: '4.00', payload: Buffer.from('ep is required') };
      }
      if (running.has(req.source)) return { code: '4.09' };
      if (running.size >= MAX_IN_FLIGHT) return { code: '5.03' };
      let plan: Lwm2mBootstrapPlan;
      try {
        plan = await d.hooks.bootstrap(ep, req.source, req.security);
      } catch (err) {
        return replyFor(err);
      }
      running.add(req.source);
      // The client takes our requests once it has its 2.04: start after it left.
      setImmediate(() => void run(req.source, plan));
      return { code: '2.04' };
    })();
  };
}

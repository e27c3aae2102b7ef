/**
 * Inbound routing: what the hub sends on the device's management topics — the desired twin
 * (validated, then applied by the twin), commands (run by the command runner) and update offers
 * (the update client). Anything else under the device's topics is ignored.
 */
import {
  DesiredTwinPayload,
  TunnelOfferPayload,
  firstProblem,
  parseDevicePlaneTopic,
  parseTopic,
  type DesiredTwin,
  type DeviceEvent,
  type TunnelOffer,
} from '@bulwark/protocol';
import type { AgentClock } from '../ports.js';
import type { CommandRunner } from './commands.js';
import { deviceEvent } from './outbox.js';
import type { Twin } from './twin.js';

/** What inbound routing works with. */
export interface InboundDeps {
  clock: AgentClock;
  twin: Twin;
  commands: CommandRunner;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  deviceId(): string | undefined;
  /** Traffic moved (restarts the idle count). */
  touch(): void;
  /** Records an event (the agent's `report`). */
  report(event: DeviceEvent): void;
  /** Emits an agent event (`twin-applied`). */
  emit(event: string, ...args: unknown[]): void;
  /** An update offer on `updates/{jobId}`. */
  updateOffer(jobId: string, payload: Uint8Array): void;
  /** A remote-access session to dial (decision 0042), validated. */
  tunnel(offer: TunnelOffer): void;
}

const dec = new TextDecoder();

/** The link's message handler. */
export function inboundHandler(deps: InboundDeps): (topic: string, payload: Uint8Array) => void {
  return (topic, payload) => {
    const id = deps.deviceId();
    if (id === undefined) return;
    deps.touch();
    // One grammar with the hub (protocol device-topics.ts): which message, and its id level.
    const t = parseTopic(topic);
    if (t?.kind !== 'device' || t.deviceId !== id) return;
    const m = parseDevicePlaneTopic(t.rest);
    // Not a message of the device plane: a gateway's own levels (downlink, decision 0040).
    if (m === undefined) {
      deps.emit('own-message', t.rest, payload);
      return;
    }
    if (m?.kind === 'desired') {
      let d: DesiredTwin;
      try {
        const v: unknown = JSON.parse(dec.decode(payload));
        const problem = firstProblem(DesiredTwinPayload, v);
        if (problem !== null) throw new Error(problem);
        d = v as DesiredTwin;
      } catch (err) {
        deps.report(
          deviceEvent(deps.clock, 'invalid-desired', 'warning', {
            message: (err as Error).message,
          }),
        );
        return;
      }
      deps.twin.applyDesired(d).then(
        (r) => r && deps.emit('twin-applied', r),
        (err: Error) => deps.log('error', `applying desired twin: ${err.message}`),
      );
      return;
    }
    if (m?.kind === 'updateOffer' && m.param !== undefined) {
      deps.updateOffer(m.param, payload);
      return;
    }
    if (m?.kind === 'tunnel' && m.param !== undefined) {
      try {
        const v: unknown = JSON.parse(dec.decode(payload));
        const problem = firstProblem(TunnelOfferPayload, v);
        if (problem !== null) throw new Error(problem);
        if ((v as TunnelOffer).id !== m.param) throw new Error('the id is not the topic id');
        deps.tunnel(v as TunnelOffer);
      } catch (err) {
        deps.report(
          deviceEvent(deps.clock, 'invalid-tunnel-offer', 'warning', {
            message: (err as Error).message,
          }),
        );
      }
      return;
    }
    if (m?.kind === 'command' && m.param !== undefined) {
      const cid = m.param;
      deps.commands.handle(cid, payload).catch((err: Error) => {
        deps.log('error', `command ${cid}: ${err.message}`);
      });
    }
  };
}

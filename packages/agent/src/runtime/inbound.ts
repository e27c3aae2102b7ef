/**
 * Inbound routing: what the hub sends on the device's management topics — the desired twin
 * (validated, then applied by the twin), commands (run by the command runner) and update offers
 * (the update client). Anything else under the device's topics is ignored.
 */
import { deviceTopic, type DesiredTwin, type DeviceEvent } from '@bulwark/protocol';
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
}

const dec = new TextDecoder();

/** The link's message handler. */
export function inboundHandler(deps: InboundDeps): (topic: string, payload: Uint8Array) => void {
  return (topic, payload) => {
    const id = deps.deviceId();
    if (id === undefined) return;
    deps.touch();
    if (topic === deviceTopic.desired(id)) {
      let d: DesiredTwin;
      try {
        d = JSON.parse(dec.decode(payload)) as DesiredTwin;
        if (typeof d !== 'object' || d === null || typeof d.version !== 'number')
          throw new Error('no version');
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
    const updates = `$devices/${id}/updates/`;
    if (topic.startsWith(updates)) {
      const jobId = topic.slice(updates.length);
      if (jobId !== '' && !jobId.includes('/')) deps.updateOffer(jobId, payload);
      return;
    }
    const prefix = `$devices/${id}/commands/`;
    if (topic.startsWith(prefix)) {
      const cid = topic.slice(prefix.length);
      if (cid.includes('/')) return;
      deps.commands.handle(cid, payload).catch((err: Error) => {
        deps.log('error', `command ${cid}: ${err.message}`);
      });
    }
  };
}

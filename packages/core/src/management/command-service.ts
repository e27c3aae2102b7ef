import {
  BulwarkError,
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  MAX_COMMAND_TIMEOUT_SECONDS,
  type CommandListQuery,
  type CommandState,
  type CommandStatus,
  type BulkDeviceFilter as BulkFilter,
  type SendCommandRequest,
  type TwinValue,
} from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { Clock } from '../ports/clock.js';
import type { CommandRecord } from '../ports/management.js';
import type { Device, Page } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { DomainEvents } from '../ports/events.js';
import { newId } from '../shared/ids.js';
import { forEachMatchingDevice } from './bulk.js';
import type { Actor, ManagementSignals } from './signals.js';
import { checkTwinState } from './twin-json.js';

/** Terminal command states: once there, a command never changes again. */
export const TERMINAL_COMMAND_STATES: readonly CommandState[] = [
  'succeeded',
  'failed',
  'expired',
  'canceled',
];
const OPEN: readonly CommandState[] = ['queued', 'delivered'];

/** What became of a device's status report. */
export type StatusOutcome = 'applied' | 'ignored';

/**
 * Commands (DESIGN.md §3): queued in the database (the durable queue: a hub restart loses nothing),
 * delivered to the device when it is connected and subscribed, then driven by the device's status
 * reports: queued → delivered → succeeded | failed; queued | delivered → expired (deadline) |
 * canceled. Every change is compare-and-set from a non-terminal state, so terminal states stick.
 */
export class CommandService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      devices: DeviceService;
      signals: ManagementSignals;
      /** Told every state change (`command.transition`: the console's live views). */
      events?: DomainEvents;
    },
  ) {}

  #emit(c: CommandRecord): void {
    this.d.events?.emit({
      type: 'command.transition',
      orgId: c.orgId,
      deviceId: c.deviceId,
      commandId: c.id,
      state: c.state,
      at: c.updatedAt,
    });
  }

  /** Queues a command for a device. */
  async send(
    orgId: string,
    deviceId: string,
    req: SendCommandRequest,
    actor: Actor,
  ): Promise<CommandRecord> {
    const device = await this.d.devices.get(orgId, deviceId);
    return this.#queue(device, req, actor);
  }

  /**
   * Records a command a gateway handed to its site device itself (a rule fired there, decision
   * 0040 "local operation") as `delivered`, under the gateway's id for it, so the device's status
   * report lands on it; nothing is sent. Once per id: a repeat (or an id of another device's
   * command) changes nothing.
   */
  async recordDelivered(
    orgId: string,
    deviceId: string,
    c: { id: string; name: string; params: Record<string, unknown>; deadline: number },
    actor: Actor,
    gateway: { id: string; at: number },
  ): Promise<CommandRecord | undefined> {
    const device = await this.d.devices.get(orgId, deviceId);
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    checkTwinState(c.params, 'the command params');
    if (await this.d.storage.commands.get(orgId, c.id)) return undefined;
    const now = this.d.clock.now();
    const rec: CommandRecord = {
      id: c.id,
      orgId,
      deviceId,
      name: c.name,
      params: c.params,
      state: 'delivered',
      deadline: c.deadline,
      createdAt: gateway.at,
      updatedAt: now,
      result: null,
      error: null,
      history: [
        {
          state: 'queued',
          at: gateway.at,
          reason: `sent by ${actor.type}${actor.id ? ` ${actor.id}` : ''} on gateway ${gateway.id}`,
        },
        { state: 'delivered', at: gateway.at, reason: 'handed to the device by its gateway' },
      ],
    };
    await this.d.storage.commands.create(rec);
    this.#emit(rec);
    return rec;
  }

  /** Queues one command for every device matching the filter (decommissioned ones never). */
  async bulkSend(
    orgId: string,
    filter: BulkFilter,
    req: SendCommandRequest,
    actor: Actor,
  ): Promise<{ matched: number; commandIds: string[] }> {
    this.#check(req);
    const commandIds: string[] = [];
    await forEachMatchingDevice(this.d.devices, orgId, filter, async (device) => {
      commandIds.push((await this.#queue(device, req, actor)).id);
    });
    return { matched: commandIds.length, commandIds };
  }

  /** One command (not_found for another organization's). */
  async get(orgId: string, id: string): Promise<CommandRecord> {
    const c = await this.d.storage.commands.get(orgId, id);
    if (!c) throw new BulwarkError('not_found', 'no such command in this organization');
    return c;
  }

  /** A device's commands, newest first. */
  async list(orgId: string, deviceId: string, q: CommandListQuery): Promise<Page<CommandRecord>> {
    await this.d.devices.get(orgId, deviceId);
    return this.d.storage.commands.list(
      orgId,
      deviceId,
      q.state !== undefined ? { state: q.state } : {},
      { limit: q.limit ?? 50, cursor: q.cursor ?? null },
    );
  }

  /** Cancels a queued or delivered command; a finished one answers `command_finished`. */
  async cancel(orgId: string, id: string, actor: Actor): Promise<CommandRecord> {
    await this.get(orgId, id);
    const who =
      actor.type === 'user' || actor.type === 'api_key' ? `${actor.type} ${actor.id}` : actor.type;
    const c = await this.d.storage.commands.transition(orgId, id, OPEN, {
      to: 'canceled',
      at: this.d.clock.now(),
      reason: `canceled by ${who}`,
    });
    if (!c) {
      const cur = await this.get(orgId, id);
      throw new BulwarkError('command_finished', `the command is already ${cur.state}`, {
        extra: { state: cur.state },
      });
    }
    this.d.signals.emit('commandCanceled', c);
    this.#emit(c);
    return c;
  }

  /**
   * A device's status report for one of its commands. Reports for another device's command, an
   * unknown one, or one already finished (terminal) are ignored: they change nothing.
   */
  async acceptStatus(
    orgId: string,
    deviceId: string,
    commandId: string,
    status: CommandStatus,
  ): Promise<StatusOutcome> {
    const cur = await this.d.storage.commands.get(orgId, commandId);
    if (!cur || cur.deviceId !== deviceId) return 'ignored';
    const at = this.d.clock.now();
    const from: readonly CommandState[] = status.state === 'delivered' ? ['queued'] : OPEN;
    const c = await this.d.storage.commands.transition(orgId, commandId, from, {
      to: status.state,
      at,
      ...(status.state === 'delivered'
        ? { reason: 'the device received it' }
        : status.state === 'succeeded'
          ? { reason: 'the device ran it', result: status.result ?? null }
          : {
              reason: `the device reported failure${status.error ? `: ${status.error.code}` : ''}`,
              result: status.result ?? null,
              error: status.error ?? { code: 'failed', message: 'the device reported no reason' },
            }),
    });
    if (!c) return 'ignored';
    this.#emit(c);
    return 'applied';
  }

  /** Queued, unexpired commands of these devices, oldest first: what to deliver now. */
  pending(orgId: string, deviceIds: readonly string[], limit = 100): Promise<CommandRecord[]> {
    return this.d.storage.commands.listQueued(orgId, deviceIds, this.d.clock.now(), limit);
  }

  /** Expires every open command whose deadline has passed (hub-wide); returns how many. */
  async expireDue(batch = 500): Promise<number> {
    let n = 0;
    for (let round = 0; round < 100; round++) {
      const now = this.d.clock.now();
      const due = await this.d.storage.commands.listDue(now, batch);
      for (const c of due) {
        const done = await this.d.storage.commands.transition(c.orgId, c.id, OPEN, {
          to: 'expired',
          at: now,
          reason: `deadline ${new Date(c.deadline).toISOString()} passed before the device ${
            c.state === 'queued' ? 'received it' : 'finished it'
          }`,
        });
        if (done) {
          n++;
          this.#emit(done);
        }
      }
      if (due.length < batch) break;
    }
    return n;
  }

  #check(req: SendCommandRequest): void {
    if (req.params !== undefined) checkTwinState(req.params, 'the command params');
    const t = req.timeoutSeconds;
    if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > MAX_COMMAND_TIMEOUT_SECONDS)) {
      throw new BulwarkError(
        'validation_failed',
        `timeoutSeconds must be 1..${MAX_COMMAND_TIMEOUT_SECONDS}`,
      );
    }
  }

  async #queue(device: Device, req: SendCommandRequest, actor: Actor): Promise<CommandRecord> {
    if (device.state === 'decommissioned') throw new BulwarkError('device_decommissioned');
    this.#check(req);
    const now = this.d.clock.now();
    const c: CommandRecord = {
      id: newId(now),
      orgId: device.orgId,
      deviceId: device.id,
      name: req.name,
      params: (req.params ?? {}) as { [key: string]: TwinValue },
      state: 'queued',
      deadline: now + (req.timeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS) * 1000,
      createdAt: now,
      updatedAt: now,
      result: null,
      error: null,
      history: [
        {
          state: 'queued',
          at: now,
          reason: `sent by ${actor.type}${actor.id ? ` ${actor.id}` : ''}`,
        },
      ],
    };
    await this.d.storage.commands.create(c);
    this.d.signals.emit('commandQueued', c);
    this.#emit(c);
    return c;
  }
}

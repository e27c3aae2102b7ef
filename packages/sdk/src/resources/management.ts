import type { CommandState, CommandView, DeviceLogView } from '@bulwark/protocol';
import { paginate } from '../paginate.js';
import { pollUntil, type WaitOptions } from '../poll.js';
import type { BodyOf, Call, QueryOf } from '../types.js';

export type { WaitOptions } from '../poll.js';

/** Command states a command never leaves (device-plane.ts `CommandState`). */
export const TERMINAL_COMMAND_STATES: readonly CommandState[] = [
  'succeeded',
  'failed',
  'expired',
  'canceled',
];

/** Whether a command has reached a state it never leaves. */
export const isCommandDone = (c: { state: CommandState }): boolean =>
  TERMINAL_COMMAND_STATES.includes(c.state);

/** `commands.wait` ran out of time: the command is still in flight, as `command` shows. */
export class CommandWaitTimeout extends Error {
  override readonly name = 'CommandWaitTimeout';
  /** The command as last seen. */
  readonly command: CommandView;

  constructor(command: CommandView, timeoutMs: number) {
    super(`command ${command.id} is still ${command.state} after ${timeoutMs} ms`);
    this.command = command;
  }
}

/** Device twins: desired and reported configuration, each versioned, and the delta between them. */
export function twinsApi(call: Call) {
  return {
    /** A device's twin: desired, reported, their delta and whether they agree. */
    get: (deviceId: string) => call('getTwin', { params: { id: deviceId } }),
    /**
     * Changes a device's desired state with a JSON merge patch (RFC 7386: `null` deletes a value);
     * with `ifVersion`, only if the desired state is still at that version.
     */
    patchDesired: (deviceId: string, patch: BodyOf<'patchDesired'>['patch'], ifVersion?: number) =>
      call('patchDesired', {
        params: { id: deviceId },
        body: ifVersion === undefined ? { patch } : { patch, ifVersion },
      }),
    /** Applies one merge patch to the desired state of every device the filter matches. */
    bulkPatch: (
      filter: BodyOf<'bulkPatchDesired'>['filter'],
      patch: BodyOf<'bulkPatchDesired'>['patch'],
    ) => call('bulkPatchDesired', { body: { filter, patch } }),
  };
}

/** Commands: requests to devices with a deadline, queued while a device is offline. */
export function commandsApi(call: Call) {
  const get = (id: string) => call('getCommand', { params: { id } });
  return {
    /** Queues a command for one device; it is delivered when the device is connected. */
    send: (deviceId: string, body: BodyOf<'sendCommand'>) =>
      call('sendCommand', { params: { id: deviceId }, body }),
    /** Queues one command for every device the filter matches. */
    bulkSend: (body: BodyOf<'bulkSendCommand'>) => call('bulkSendCommand', { body }),
    /** One page of a device's commands, newest first. */
    list: (deviceId: string, query: QueryOf<'listCommands'> = {}) =>
      call('listCommands', { params: { id: deviceId }, query }),
    /** Every command of a device matching the query, following `nextCursor` page by page. */
    all: (deviceId: string, query: QueryOf<'listCommands'> = {}) =>
      paginate((cursor) =>
        call('listCommands', { params: { id: deviceId }, query: { ...query, cursor } }),
      ),
    /** One command, with its state history. */
    get,
    /** Cancels a command that is still queued or delivered. */
    cancel: (id: string) => call('cancelCommand', { params: { id }, body: {} }),
    /**
     * Polls a command until it reaches a terminal state (succeeded, failed, expired, canceled) and
     * returns it; throws `CommandWaitTimeout` (carrying the command as last seen) when time runs out.
     */
    wait: (id: string, opts: WaitOptions<CommandView> = {}): Promise<CommandView> =>
      pollUntil(
        () => get(id),
        isCommandDone,
        (c, ms) => new CommandWaitTimeout(c, ms),
        opts,
      ),
  };
}

/** What the hub knows of a device's life: presence and health, and the events it reported. */
export function deviceStatusApi(call: Call) {
  return {
    /** Whether the device is online, since when, in which mode, with its latest health metrics. */
    presence: (deviceId: string) => call('getPresence', { params: { id: deviceId } }),
    /**
     * The device's health history (CPU, memory, disk, connections) in time buckets with
     * avg/min/max each; by default the last hour in about 60 buckets.
     */
    metricsHistory: (deviceId: string, query: QueryOf<'getMetricsHistory'> = {}) =>
      call('getMetricsHistory', { params: { id: deviceId }, query }),
    /** One page of the events the device reported, newest first. */
    events: (deviceId: string, query: QueryOf<'listDeviceEvents'> = {}) =>
      call('listDeviceEvents', { params: { id: deviceId }, query }),
    /** Every event of the device matching the query, following `nextCursor` page by page. */
    allEvents: (deviceId: string, query: QueryOf<'listDeviceEvents'> = {}) =>
      paginate((cursor) =>
        call('listDeviceEvents', { params: { id: deviceId }, query: { ...query, cursor } }),
      ),
    /** One page of the device's log records (decision 0032), newest first unless `order: 'oldest'`. */
    logs: (deviceId: string, query: QueryOf<'listDeviceLogs'> = {}) =>
      call('listDeviceLogs', { params: { id: deviceId }, query }),
    /** Every log record matching the query, following `nextCursor` page by page. */
    allLogs: (deviceId: string, query: QueryOf<'listDeviceLogs'> = {}) =>
      paginate((cursor) =>
        call('listDeviceLogs', { params: { id: deviceId }, query: { ...query, cursor } }),
      ),
    /** One long poll: the records stored after `after` (or from now), waiting up to `wait` s. */
    followLogs: (deviceId: string, query: QueryOf<'followDeviceLogs'> = {}) =>
      call('followDeviceLogs', { params: { id: deviceId }, query }),
    /**
     * The device's new log records as they arrive, oldest first, until `signal` aborts (long
     * polls one after another, each continuing where the last one ended).
     */
    async *tailLogs(
      deviceId: string,
      query: QueryOf<'followDeviceLogs'> = {},
      signal?: AbortSignal,
    ): AsyncGenerator<DeviceLogView, void, undefined> {
      let after = query.after;
      while (signal?.aborted !== true) {
        const r = await call('followDeviceLogs', {
          params: { id: deviceId },
          query: { ...query, ...(after !== undefined ? { after } : {}) },
        });
        if (r.last !== null) after = r.last;
        yield* r.items;
      }
    },
  };
}

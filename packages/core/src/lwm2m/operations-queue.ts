/**
 * The operator's LwM2M operations (API `POST /devices/{id}/lwm2m/read|operations`, decision 0043
 * 2026-12-07) become commands — the durable queue every protocol uses, so an operation for a
 * sleeping (queue mode) or unregistered device waits for it, expires at its deadline, is audited
 * and can be canceled. Checked before queuing: the device is an LwM2M device of the caller's
 * organization, the operation's input is valid, and at most `maxOpen` LwM2M commands are open per
 * device (a clear refusal, `lwm2m_queue_full`, beyond).
 */
import {
  BulwarkError,
  type Lwm2mOperationRequest,
  type Lwm2mReadRequest,
  type TwinValue,
} from '@bulwark/protocol';
import type { CommandService } from '../management/command-service.js';
import type { DeviceService } from '../devices/device-service.js';
import type { Actor } from '../management/signals.js';
import type { CommandRecord } from '../ports/management.js';
import { isLwm2mCommand } from './commands.js';
import {
  checkAttributes,
  checkAttributesPath,
  checkCreate,
  checkDelete,
  BOOTSTRAP_ONLY_OBJECTS,
} from './operations.js';
import { formatPath, parsePath } from './path.js';

/** LwM2M commands open (queued or delivered) per device at most. */
export const MAX_OPEN_LWM2M_REQUESTS = 32;

/** Queues LwM2M operations as commands. */
export class Lwm2mOperations {
  constructor(
    private readonly d: {
      devices: Pick<DeviceService, 'get'>;
      commands: Pick<CommandService, 'send' | 'pending'>;
      maxOpen?: number;
    },
  ) {}

  /** A Read (or Discover): devices:read is enough. */
  read(orgId: string, deviceId: string, r: Lwm2mReadRequest, actor: Actor) {
    const path = formatPath(parsePath(r.path));
    return this.#queue(orgId, deviceId, r.discover === true ? 'lwm2m.discover' : 'lwm2m.read', {
      params: { path },
      ...timeout(r.timeoutSeconds),
      actor,
    });
  }

  /** Write, Execute, Create, Delete, Write-Attributes: devices:manage. */
  operate(orgId: string, deviceId: string, r: Lwm2mOperationRequest, actor: Actor) {
    const params = paramsOf(r);
    return this.#queue(orgId, deviceId, `lwm2m.${r.operation}`, {
      params,
      ...timeout(r.timeoutSeconds),
      actor,
    });
  }

  /**
   * Refuses (`lwm2m_queue_full`) when the device already has `maxOpen` LwM2M commands open — also
   * asked by the generic command route for an `lwm2m.*` name, so no door skips the bound.
   */
  async checkRoom(orgId: string, deviceId: string): Promise<void> {
    const max = this.d.maxOpen ?? MAX_OPEN_LWM2M_REQUESTS;
    const open = (await this.d.commands.pending(orgId, [deviceId], max + 1)).filter((c) =>
      isLwm2mCommand(c.name),
    );
    if (open.length >= max) {
      throw new BulwarkError(
        'lwm2m_queue_full',
        `${open.length} LwM2M requests are already queued for this device (at most ${max}); wait for it to wake or cancel some`,
      );
    }
  }

  async #queue(
    orgId: string,
    deviceId: string,
    name: string,
    o: { params: { [k: string]: TwinValue }; timeoutSeconds?: number; actor: Actor },
  ): Promise<CommandRecord> {
    const device = await this.d.devices.get(orgId, deviceId); // another org's device: not_found
    if (!device.tags.includes('lwm2m')) throw new BulwarkError('lwm2m_device_required');
    await this.checkRoom(orgId, deviceId);
    return this.d.commands.send(
      orgId,
      deviceId,
      {
        name,
        params: o.params,
        ...(o.timeoutSeconds === undefined ? {} : { timeoutSeconds: o.timeoutSeconds }),
      },
      o.actor,
    );
  }
}

const timeout = (t: number | undefined) => (t === undefined ? {} : { timeoutSeconds: t });

/** The command params of an operation, checked (bad input: `validation_failed`, nothing queued). */
function paramsOf(r: Lwm2mOperationRequest): { [k: string]: TwinValue } {
  switch (r.operation) {
    case 'write': {
      const ids = parsePath(r.path);
      if (ids.length !== 3) throw invalid('Write takes /object/instance/resource');
      if (BOOTSTRAP_ONLY_OBJECTS.includes(ids[0]!))
        throw invalid(`object /${ids[0]} is written by the bootstrap server only`);
      const v: unknown = r.value;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        throw invalid('Write needs a value: a string, number or boolean');
      if (typeof v === 'string' && v.length > 1024)
        throw invalid('a value is at most 1024 characters');
      if (typeof v === 'number' && !Number.isFinite(v)) throw invalid('a number must be finite');
      return { path: formatPath(ids), value: v };
    }
    case 'execute': {
      const ids = parsePath(r.path);
      if (ids.length !== 3) throw invalid('Execute takes /object/instance/resource');
      return { path: formatPath(ids), ...(r.args === undefined ? {} : { args: r.args }) };
    }
    case 'create': {
      const c = checkCreate(r.path, r.instance, r.values ?? {});
      return {
        path: c.path,
        ...(c.instance === undefined ? {} : { instance: c.instance }),
        values: Object.fromEntries(c.values),
      };
    }
    case 'delete':
      return { path: checkDelete(r.path) };
    case 'attributes': {
      const path = checkAttributesPath(r.path);
      const a = checkAttributes(r.attributes ?? {});
      return { path, attributes: { ...a } };
    }
  }
}

const invalid = (why: string) => new BulwarkError('validation_failed', `LwM2M: ${why}`);

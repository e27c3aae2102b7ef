/**
 * Work the LwM2M service does on behalf of a registration beyond reads and writes (decision 0043,
 * 2026-12-07): desired notification attributes, and dropping requests an access change made
 * stale.
 */
import { BulwarkError, type TwinValue } from '@bulwark/protocol';
import { DEVICE_PLANES } from '../edge/policy.js';
import type { CommandService } from '../management/command-service.js';
import type { Storage } from '../ports/storage.js';
import { isLwm2mCommand } from './commands.js';
import { checkAttributes, checkAttributesPath } from './operations.js';
import { Lwm2mRequestError, type Lwm2mLink } from './registration.js';

/** A twin error of the desired sync. */
export interface SyncError {
  path: string;
  code: string;
  message: string;
}

/**
 * Desired notification attributes (`lwm2m.attributes`), written once per registration and value
 * (`applied`: path → the JSON written) before the observations they shape; a bad one or a refusal
 * is a twin error.
 */
export async function writeAttributes(
  link: Pick<Lwm2mLink, 'writeAttributes'>,
  location: string,
  want: Map<string, TwinValue>,
  applied: Map<string, string>,
  errors: SyncError[],
): Promise<void> {
  for (const [path, raw] of want) {
    const key = JSON.stringify(raw);
    if (applied.get(path) === key) continue;
    try {
      const p = checkAttributesPath(path);
      await link.writeAttributes(location, p, checkAttributes(raw));
      applied.set(path, key);
    } catch (err) {
      errors.push({ path, code: codeOf(err), message: (err as Error).message });
    }
  }
}

/**
 * An access change cut the registration: when it left the device quarantined or decommissioned,
 * requests still queued for it were asked for before that — none is delivered later. They fail
 * with `lwm2m_access_changed`; the operator may send them again. A release or a replaced key
 * leaves the device its full access: its requests still stand.
 */
export async function dropQueuedAfterCut(
  d: {
    storage: Pick<Storage, 'devices'>;
    commands: Pick<CommandService, 'pending' | 'acceptStatus'>;
  },
  orgId: string,
  deviceId: string,
): Promise<void> {
  const device = await d.storage.devices.get(orgId, deviceId);
  if (device && DEVICE_PLANES[device.state].includes('channels')) return;
  for (const c of await d.commands.pending(orgId, [deviceId])) {
    if (!isLwm2mCommand(c.name)) continue;
    await d.commands.acceptStatus(orgId, deviceId, c.id, {
      state: 'failed',
      error: {
        code: 'lwm2m_access_changed',
        message: 'not delivered: the device was quarantined, decommissioned or lost its key',
      },
    });
  }
}

export function codeOf(err: unknown): string {
  if (err instanceof Lwm2mRequestError) return `coap_${err.code.replace('.', '_')}`;
  if (err instanceof BulwarkError) return err.code;
  return 'lwm2m_request_failed';
}

import {
  BulwarkError,
  type BulkAction,
  type BulkActionResponse,
  type Permission,
} from '@bulwark/protocol';
import type { DeviceService } from '../devices/device-service.js';
import type { DeviceAccess } from '../identity/device-scope.js';
import { hasPermission } from '../identity/permissions.js';
import type { ScopedGrant } from '../ports/records.js';
import type { Actor } from './signals.js';
import type { UpdateJobService } from '../updates/job-service.js';
import type { TwinService } from './twin-service.js';
import type { CommandService } from './command-service.js';

/** The permission each bulk action needs, per device (the route itself needs only devices:read). */
const NEEDS: Record<BulkAction['kind'], Permission> = {
  tag: 'devices:manage',
  move: 'devices:manage',
  quarantine: 'devices:manage',
  release: 'devices:manage',
  update: 'firmware:update',
  // The permission of PATCH /devices/:id/twin/desired and POST /devices/:id/commands.
  twin: 'devices:manage',
  command: 'devices:manage',
};

/**
 * Moving a device or changing its tags changes which scoped grants cover it, so those stay
 * organization-wide: a scoped holder could otherwise carry devices into another group.
 */
const ORG_WIDE_ONLY: ReadonlySet<BulkAction['kind']> = new Set(['tag', 'move']);

/**
 * Who acts: the organization, the permissions they hold (org-wide and on device groups), and the
 * actor for audit and jobs.
 */
export interface BulkCaller {
  orgId: string;
  permissions: readonly string[];
  scopedGrants?: readonly ScopedGrant[];
  actor: Actor;
}

/**
 * Bulk actions on a selection of devices (issue 15 item 2): each device goes through the same
 * service call as the single-device API, one at a time; a device the caller may not act on —
 * the permission is missing, it is not in the organization, decommissioned, the artifact does not
 * fit it — gets its own refusal with the code that call would give, and nothing changes for it.
 * The others are applied. Results come back in the order of the request.
 */
export class BulkActionService {
  constructor(
    private readonly d: {
      devices: DeviceService;
      updates: UpdateJobService;
      twins: Pick<TwinService, 'patchDesired'>;
      commands: Pick<CommandService, 'send'>;
      /** Decides per device, with the caller's scoped grants (decision 0046). */
      access: Pick<DeviceAccess, 'permits'>;
    },
  ) {}

  async apply(
    caller: BulkCaller,
    deviceIds: readonly string[],
    action: BulkAction,
  ): Promise<BulkActionResponse> {
    const results: BulkActionResponse['results'] = [];
    for (const deviceId of deviceIds) {
      try {
        const need = NEEDS[action.kind];
        const allowed = ORG_WIDE_ONLY.has(action.kind)
          ? hasPermission(caller.permissions, need)
          : await this.d.access.permits(
              { ...caller, permissions: caller.permissions as Permission[] },
              deviceId,
              need,
            );
        if (!allowed) throw new BulwarkError('forbidden', `needs ${need} on this device`);
        await this.#one(caller, deviceId, action);
        results.push({ deviceId, ok: true });
      } catch (err) {
        if (!(err instanceof BulwarkError)) throw err;
        results.push({ deviceId, ok: false, code: err.code, detail: err.message });
      }
    }
    const applied = results.filter((r) => r.ok).length;
    return { applied, refused: results.length - applied, results };
  }

  async #one(caller: BulkCaller, deviceId: string, action: BulkAction): Promise<void> {
    const { orgId } = caller;
    switch (action.kind) {
      case 'tag': {
        const d = await this.d.devices.get(orgId, deviceId);
        const drop = new Set(action.remove ?? []);
        const tags = [...new Set([...d.tags.filter((t) => !drop.has(t)), ...(action.add ?? [])])];
        // The same bound the single-device API's schema puts on tags.
        if (tags.length > 32) throw new BulwarkError('validation_failed', 'more than 32 tags');
        await this.d.devices.update(orgId, deviceId, { tags });
        return;
      }
      case 'move':
        await this.d.devices.update(orgId, deviceId, { locationId: action.locationId });
        return;
      case 'quarantine':
      case 'release':
        await this.d.devices.update(orgId, deviceId, {
          state: action.kind === 'quarantine' ? 'quarantined' : 'active',
        });
        return;
      case 'update':
        await this.d.updates.deploy(orgId, deviceId, action.artifactId, { actor: caller.actor });
        return;
      case 'twin':
        await this.d.twins.patchDesired(orgId, deviceId, action.patch, { actor: caller.actor });
        return;
      case 'command':
        await this.d.commands.send(
          orgId,
          deviceId,
          {
            name: action.name,
            ...(action.params !== undefined ? { params: action.params } : {}),
            ...(action.timeoutSeconds !== undefined
              ? { timeoutSeconds: action.timeoutSeconds }
              : {}),
          },
          caller.actor,
        );
        return;
    }
  }
}

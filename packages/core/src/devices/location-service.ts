import {
  BulwarkError,
  type CreateLocationRequest,
  type UpdateLocationRequest,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Location, LocationKind } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';

/** The levels of the tree, top first: a node's parent is exactly one level up. */
const LEVELS: readonly LocationKind[] = ['site', 'building', 'floor', 'room'];

/** The site → building → floor → room tree devices are placed in. */
export class LocationService {
  constructor(private readonly d: { storage: Storage; clock: Clock }) {}

  /** The whole tree, parents before children. */
  async list(orgId: string): Promise<Location[]> {
    const all = await this.d.storage.locations.list(orgId);
    return [...all].sort(
      (a, b) => LEVELS.indexOf(a.kind) - LEVELS.indexOf(b.kind) || (a.id < b.id ? -1 : 1),
    );
  }

  /** One location, or not_found. */
  async get(orgId: string, id: string): Promise<Location> {
    const l = await this.d.storage.locations.get(orgId, id);
    if (!l) throw new BulwarkError('not_found', 'no such location in this organization');
    return l;
  }

  /** Adds a node under a parent of the level just above (sites have no parent). */
  async create(orgId: string, req: CreateLocationRequest): Promise<Location> {
    await this.#checkParent(orgId, req.kind, req.parentId ?? null);
    const now = this.d.clock.now();
    const loc: Location = {
      id: newId(now),
      orgId,
      parentId: req.parentId ?? null,
      kind: req.kind,
      name: req.name,
      createdAt: now,
    };
    await this.d.storage.locations.create(loc);
    return loc;
  }

  /** Renames or moves a node (to a parent of the same level as before). */
  async update(orgId: string, id: string, req: UpdateLocationRequest): Promise<Location> {
    const loc = await this.get(orgId, id);
    if (req.parentId !== undefined) await this.#checkParent(orgId, loc.kind, req.parentId);
    const patch: { name?: string; parentId?: string | null } = {};
    if (req.name !== undefined) patch.name = req.name;
    if (req.parentId !== undefined) patch.parentId = req.parentId;
    const updated = await this.d.storage.locations.update(orgId, id, patch);
    if (!updated) throw new BulwarkError('not_found', 'no such location in this organization');
    return updated;
  }

  /** Deletes a node that holds no other nodes and no devices. */
  async delete(orgId: string, id: string): Promise<void> {
    await this.get(orgId, id);
    const all = await this.d.storage.locations.list(orgId);
    if (all.some((l) => l.parentId === id))
      throw new BulwarkError('location_not_empty', 'the location still holds other locations');
    if ((await this.d.storage.devices.countInLocations(orgId, [id])) > 0) {
      throw new BulwarkError('location_not_empty', 'the location still holds devices');
    }
    await this.d.storage.locations.delete(orgId, id);
  }

  /** The ids of a node and every node below it. */
  async subtree(orgId: string, id: string): Promise<string[]> {
    await this.get(orgId, id);
    const all = await this.d.storage.locations.list(orgId);
    const out = [id];
    for (let i = 0; i < out.length; i++)
      for (const l of all) if (l.parentId === out[i]) out.push(l.id);
    return out;
  }

  async #checkParent(orgId: string, kind: LocationKind, parentId: string | null): Promise<void> {
    const level = LEVELS.indexOf(kind);
    if (parentId === null) {
      if (level !== 0)
        throw new BulwarkError(
          'location_parent_invalid',
          `a ${kind} must be placed in a ${LEVELS[level - 1]}`,
        );
      return;
    }
    const parent = await this.d.storage.locations.get(orgId, parentId);
    if (!parent)
      throw new BulwarkError('not_found', 'no such parent location in this organization');
    if (LEVELS.indexOf(parent.kind) !== level - 1) {
      throw new BulwarkError(
        'location_parent_invalid',
        level === 0
          ? 'a site has no parent'
          : `a ${kind} must be placed in a ${LEVELS[level - 1]}, not a ${parent.kind}`,
      );
    }
  }
}

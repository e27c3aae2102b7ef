import { BulwarkError, MAX_SAVED_VIEWS, type SaveViewRequest } from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { SavedView } from '../ports/saved-views.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';

/**
 * Saved fleet views: named filters each principal keeps for itself (issue 15 item 2). A view is
 * its owner's alone — another user of the organization neither lists nor deletes it (not_found).
 * A view stores a filter, never devices: applying it lists what the caller may read then.
 */
export class SavedViewService {
  constructor(private readonly d: { storage: Storage; clock: Clock }) {}

  /** The owner's views, by name. */
  list(orgId: string, ownerId: string): Promise<SavedView[]> {
    return this.d.storage.savedViews.list(orgId, ownerId);
  }

  /**
   * Saves a view by name (replacing the owner's view of that name). A new name past
   * MAX_SAVED_VIEWS is refused with quota_exceeded and nothing stored.
   */
  async save(orgId: string, ownerId: string, req: SaveViewRequest): Promise<SavedView> {
    const mine = await this.d.storage.savedViews.list(orgId, ownerId);
    if (!mine.some((v) => v.name === req.name) && mine.length >= MAX_SAVED_VIEWS)
      throw new BulwarkError(
        'quota_exceeded',
        `at most ${MAX_SAVED_VIEWS} saved views per user: delete one first`,
      );
    const now = this.d.clock.now();
    return this.d.storage.savedViews.save({
      id: newId(),
      orgId,
      ownerId,
      name: req.name,
      query: req.query,
      createdAt: now,
      updatedAt: now,
    });
  }

  /** Deletes one of the owner's views, or not_found (also for someone else's). */
  async delete(orgId: string, ownerId: string, id: string): Promise<void> {
    if (!(await this.d.storage.savedViews.delete(orgId, ownerId, id)))
      throw new BulwarkError('not_found', 'no such saved view of yours');
  }
}

import type { SavedViewQuery } from '@bulwark/protocol';

/** A named fleet filter kept for one principal (a user or an API key) in one organization. */
export interface SavedView {
  id: string;
  orgId: string;
  /** The user (or API key) whose view it is; nobody else lists, changes or deletes it. */
  ownerId: string;
  name: string;
  query: SavedViewQuery;
  createdAt: number;
  updatedAt: number;
}

/** Saved fleet views (issue 15 item 2, decision 0038 amendment; migration 26). */
export interface SavedViewStore {
  /** The owner's views in the organization, by name. */
  list(orgId: string, ownerId: string): Promise<SavedView[]>;
  /**
   * Stores the view; one of the owner's with the same name is replaced (its id and createdAt
   * kept, query and updatedAt taken from `view`). Returns the view as stored.
   */
  save(view: SavedView): Promise<SavedView>;
  /** Deletes the owner's view; false when the owner has no view with that id. */
  delete(orgId: string, ownerId: string, id: string): Promise<boolean>;
}

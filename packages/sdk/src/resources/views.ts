import type { BodyOf, Call } from '../types.js';

/** Saved fleet views: named device filters of the calling user (or API key), theirs alone. */
export function viewsApi(call: Call) {
  return {
    /** The caller's saved views, by name. */
    list: () => call('listSavedViews', {}),
    /** Saves a view by name; the caller's view of the same name is replaced. */
    save: (body: BodyOf<'saveView'>) => call('saveView', { body }),
    /** Deletes one of the caller's views. */
    delete: (id: string) => call('deleteSavedView', { params: { id } }),
  };
}

import type { BodyOf, Call } from '../types.js';

/** The location tree: sites, buildings, floors and rooms. */
export function locationsApi(call: Call) {
  return {
    /** The whole tree, flat, parents before children. */
    list: () => call('listLocations'),
    /** Adds a location under an optional parent. */
    create: (body: BodyOf<'createLocation'>) => call('createLocation', { body }),
    /** One location by id. */
    get: (id: string) => call('getLocation', { params: { id } }),
    /** Renames or moves a location. */
    update: (id: string, body: BodyOf<'updateLocation'>) =>
      call('updateLocation', { params: { id }, body }),
    /** Deletes an empty location. */
    delete: (id: string) => call('deleteLocation', { params: { id } }),
  };
}

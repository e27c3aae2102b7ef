import type { BodyOf, Call, QueryOf } from '../types.js';

/** The firmware repository (decision 0007): trusted root, two-step upload, ranged download. */
export function firmwareApi(call: Call) {
  return {
    /** Installs (first use) or rotates the organization's trusted TUF root. */
    pushRoot: (root: { signed: Record<string, unknown>; signatures: unknown[] }) =>
      call('putFirmwareRoot', { body: root }),
    /** The organization's trusted root. */
    root: () => call('getFirmwareRoot'),
    /** Creates a `pending` artifact from signed release metadata. */
    create: (metadata: { signed: Record<string, unknown>; signatures: unknown[] }) =>
      call('createArtifact', { body: metadata }),
    /** Uploads the image (bytes or async iterable of chunks); the artifact becomes `ready`. */
    uploadImage: (id: string, image: Uint8Array | AsyncIterable<Uint8Array>) =>
      call('uploadArtifactImage', { params: { id }, body: image as AsyncIterable<Uint8Array> }),
    /** The organization's artifacts, newest first. */
    list: (query: QueryOf<'listArtifacts'> = {}) => call('listArtifacts', { query }),
    get: (id: string) => call('getArtifact', { params: { id } }),
    delete: (id: string) => call('deleteArtifact', { params: { id } }),
    /** Marks an artifact withdrawn or vulnerable with a reason: devices on it become findings. */
    setAdvisory: (id: string, body: BodyOf<'setFirmwareAdvisory'>) =>
      call('setFirmwareAdvisory', { params: { id }, body }),
    /** Takes an artifact's withdrawn or vulnerable mark away. */
    clearAdvisory: (id: string) => call('clearFirmwareAdvisory', { params: { id } }),
    /** The artifacts marked withdrawn or vulnerable. */
    advisories: () => call('listFirmwareAdvisories'),
    /** Opens the image; `range` is an HTTP Range value (e.g. `bytes=1000-`): 200, 206 or 416. */
    download: (id: string, range?: string) =>
      call('downloadArtifactImage', { params: { id }, ...(range ? { range } : {}) }),
  };
}

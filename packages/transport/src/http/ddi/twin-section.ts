/**
 * DDI config data (`PUT …/configData`): the controller's attributes (hawkBit "target attributes",
 * e.g. hardware revision, serial number). Bulwark keeps them in the device's reported twin under
 * `ddi.attributes`, where the API, console and twin queries already look; hawkBit's `mode`
 * (merge | replace | remove) applies to that map. The hub asks for them (`_links.configData`)
 * while the reported twin has none. The controller's answer to the cancelAction of a job the hub
 * ended on its own is kept beside them (`ddi.cancel`).
 */
import type { TwinService } from '@bulwark/core';
import { BulwarkError, type TwinState } from '@bulwark/protocol';

/** A checked config-data body. */
export interface DdiConfigData {
  mode: 'merge' | 'replace' | 'remove';
  data: Record<string, string>;
}

// hawkBit's own limits: attribute keys up to 128 characters; we allow longer values (1 KiB) and
// cap the count so one controller cannot grow its twin without bound.
const MAX_KEY = 128;
const MAX_VALUE = 1024;
const MAX_ATTRIBUTES = 200;
// A concurrent report (MQTT twin) can win the compare-and-set; retry a few times, then give up.
const ATTEMPTS = 5;

const invalid = (field: string, msg: string) =>
  new BulwarkError('validation_failed', `${field} ${msg}`, { extra: { field } });

/** Checks a config-data body: `data` is a map of strings; `mode` defaults to merge. */
export function parseConfigData(body: unknown): DdiConfigData {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('body', 'must be a JSON object');
  const b = body as Record<string, unknown>;
  const mode = b['mode'] ?? 'merge';
  if (mode !== 'merge' && mode !== 'replace' && mode !== 'remove')
    throw invalid('body.mode', 'must be merge, replace or remove');
  const data = b['data'];
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw invalid('body.data', 'must be an object of string values');
  const entries = Object.entries(data as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES)
    throw invalid('body.data', `has more than ${MAX_ATTRIBUTES} attributes`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > MAX_KEY)
      throw invalid('body.data', `has a key that is empty or longer than ${MAX_KEY} characters`);
    if (typeof v !== 'string' || v.length > MAX_VALUE)
      throw invalid(`body.data.${k}`, `must be a string of at most ${MAX_VALUE} characters`);
  }
  return { mode, data: Object.fromEntries(entries) as Record<string, string> };
}

/** The `ddi` section of a reported state (empty when absent). */
function ddiSection(state: TwinState | undefined): Record<string, unknown> {
  const ddi = state?.['ddi'];
  return typeof ddi === 'object' && ddi !== null && !Array.isArray(ddi) ? ddi : {};
}

/** The stored attributes in a reported state, if any. */
function attributesOf(state: TwinState | undefined): Record<string, string> | undefined {
  const a = ddiSection(state)['attributes'];
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined;
  return a as Record<string, string>;
}

/** Should the polling base ask for config data (none stored yet)? */
export function wantsConfigData(state: TwinState | undefined): boolean {
  return attributesOf(state) === undefined;
}

/** The action id whose cancellation the controller last answered (`ddi.cancel.actionId`). */
export function cancelAnswered(state: TwinState | undefined): number | undefined {
  const c = ddiSection(state)['cancel'];
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const id = (c as Record<string, unknown>)['actionId'];
  return typeof id === 'number' ? id : undefined;
}

/**
 * Changes the `ddi` section of the reported twin (a new reported version; the rest of the state is
 * kept). Retried when a concurrent report wins the compare-and-set.
 */
async function updateDdi(
  twins: Pick<TwinService, 'get' | 'acceptReported'>,
  orgId: string,
  deviceId: string,
  change: (ddi: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const cur = (await twins.get(orgId, deviceId)).reported;
    const ddi = change(ddiSection(cur?.state)) as TwinState;
    const stored = await twins.acceptReported(orgId, deviceId, {
      version: (cur?.version ?? 0) + 1,
      desiredVersion: cur?.desiredVersion ?? 0,
      state: { ...(cur?.state ?? {}), ddi },
      errors: cur?.errors ?? [],
    });
    if (stored) return;
  }
  throw new BulwarkError('conflict', 'the reported twin kept changing; send it again');
}

/** Applies config data to `ddi.attributes` of the reported twin. */
export function mergeConfigData(
  twins: Pick<TwinService, 'get' | 'acceptReported'>,
  orgId: string,
  deviceId: string,
  c: DdiConfigData,
): Promise<void> {
  return updateDdi(twins, orgId, deviceId, (ddi) => {
    const before = attributesOf({ ddi } as TwinState) ?? {};
    let next: Record<string, string>;
    if (c.mode === 'replace') next = { ...c.data };
    else if (c.mode === 'merge') next = { ...before, ...c.data };
    else next = Object.fromEntries(Object.entries(before).filter(([k]) => !(k in c.data)));
    return { ...ddi, attributes: next };
  });
}

/**
 * Records the controller's answer to the cancelAction of a job the hub itself ended after
 * delivery (`ddi.cancel`; timed out, abandoned): the job is terminal, so the answer cannot change
 * it; it stops the hub offering the cancelAction again and shows what the controller said. (The
 * answer to a cancel *request* on an open job goes to the job itself, decision 0015.)
 */
export function recordCancelAnswer(
  twins: Pick<TwinService, 'get' | 'acceptReported'>,
  orgId: string,
  deviceId: string,
  answer: { actionId: number; execution: string; finished: string; message: string | null },
): Promise<void> {
  return updateDdi(twins, orgId, deviceId, (ddi) => ({ ...ddi, cancel: answer }));
}

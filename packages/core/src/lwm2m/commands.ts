/**
 * Bulwark commands an LwM2M client runs (decision 0043): `reboot` is Execute /3/0/4 and
 * `factory_reset` Execute /3/0/5 (Core Appendix E.4); `lwm2m.execute`, `lwm2m.read`,
 * `lwm2m.write` and `lwm2m.discover` take a `path` (and `value`, `args`) for anything else;
 * `lwm2m.create` (`path` /object, `instance`?, `values`), `lwm2m.delete` (/object/instance) and
 * `lwm2m.attributes` (`path`, `attributes`: pmin, pmax, gt, lt, st) the 2026-12-07 operations.
 */
import { BulwarkError, type CommandStatus, type TwinValue } from '@bulwark/protocol';
import type { CommandRecord } from '../ports/management.js';
import {
  attributeQuery,
  checkAttributes,
  checkAttributesPath,
  checkCreate,
  checkDelete,
} from './operations.js';
import { formatPath, parsePath } from './path.js';
import { Lwm2mRequestError, type Lwm2mLink } from './registration.js';

const FIXED: Record<string, string> = { reboot: '/3/0/4', factory_reset: '/3/0/5' };
const GENERIC = new Set([
  'lwm2m.execute',
  'lwm2m.read',
  'lwm2m.write',
  'lwm2m.discover',
  'lwm2m.create',
  'lwm2m.delete',
  'lwm2m.attributes',
]);
/** Operations that only read: devices:read may ask for them (the rest need devices:manage). */
export const LWM2M_READ_COMMANDS: readonly string[] = ['lwm2m.read', 'lwm2m.discover'];

/** Does an LwM2M client run this command? */
export const isLwm2mCommand = (name: string): boolean => name in FIXED || GENERIC.has(name);

/** Runs a command against a registration; the status to record (failed with the device's code). */
export async function runLwm2mCommand(
  link: Lwm2mLink,
  location: string,
  c: Pick<CommandRecord, 'name' | 'params'>,
): Promise<CommandStatus> {
  try {
    switch (c.name) {
      case 'lwm2m.create': {
        const x = checkCreate(c.params['path'], c.params['instance'], c.params['values']);
        const path = await link.create(location, x.path, x.values, x.instance);
        return { state: 'succeeded', result: { path } };
      }
      case 'lwm2m.delete': {
        const path = checkDelete(c.params['path']);
        await link.delete(location, path);
        return { state: 'succeeded', result: { path } };
      }
      case 'lwm2m.attributes': {
        const path = checkAttributesPath(c.params['path']);
        const attributes = checkAttributes(c.params['attributes']);
        await link.writeAttributes(location, path, attributes);
        return { state: 'succeeded', result: { path, query: attributeQuery(attributes) } };
      }
    }
    const fixed = FIXED[c.name];
    const path =
      fixed ?? formatPath(parsePath(typeof c.params['path'] === 'string' ? c.params['path'] : ''));
    const id = path.split('/').length - 1;
    switch (fixed ? 'lwm2m.execute' : c.name) {
      case 'lwm2m.execute': {
        if (id !== 3) return failed('invalid_params', 'Execute needs /object/instance/resource');
        const args = c.params['args'];
        await link.execute(location, path, typeof args === 'string' ? args : undefined);
        return { state: 'succeeded', result: { path } };
      }
      case 'lwm2m.read': {
        const records = await link.read(location, path);
        return {
          state: 'succeeded',
          result: Object.fromEntries(records.map((r) => [r.path, r.value as TwinValue])),
        };
      }
      case 'lwm2m.write': {
        const value = c.params['value'];
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
          return failed('invalid_params', 'Write needs a scalar value');
        await link.write(location, path, value);
        return { state: 'succeeded', result: { path } };
      }
      default:
        return { state: 'succeeded', result: { links: await link.discover(location, path) } };
    }
  } catch (err) {
    if (err instanceof BulwarkError && err.kind === 'invalid')
      return failed('invalid_params', err.message);
    if (err instanceof Lwm2mRequestError)
      return failed(`coap_${err.code.replace('.', '_')}`, err.message);
    return failed('lwm2m_request_failed', err instanceof Error ? err.message : String(err));
  }
}

const failed = (code: string, message: string): CommandStatus => ({
  state: 'failed',
  error: { code, message },
});

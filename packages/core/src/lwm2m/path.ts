/** LwM2M paths (Core §6.1): /{object}[/{instance}[/{resource}[/{resource instance}]]], each 0..65535. */
import { BulwarkError } from '@bulwark/protocol';

/** A parsed path: 1 to 4 ids. */
export type Lwm2mPath = number[];

/** Parses "/3/0/13" (a leading slash optional); anything else is `validation_failed`. */
export function parsePath(s: string): Lwm2mPath {
  const parts = s.replace(/^\//, '').split('/');
  if (parts.length < 1 || parts.length > 4 || parts.some((p) => !/^(0|[1-9]\d{0,4})$/.test(p))) {
    throw new BulwarkError(
      'validation_failed',
      `"${s}" is not an LwM2M path (/object/instance/resource)`,
    );
  }
  const ids = parts.map(Number);
  if (ids.some((n) => n > 65535))
    throw new BulwarkError('validation_failed', `"${s}": ids are 0..65535`);
  return ids;
}

/** "/3/0/13" */
export const formatPath = (p: readonly number[]): string => `/${p.join('/')}`;

/**
 * The object list of a Register or Update (Core §6.2.1.1, RFC 6690 link format):
 * `</1>;ver=1.1,</1/0>,</3/0>,...`, optionally after an alternate root path `</lwm2m>;rt="oma.lwm2m"`.
 */
import { BulwarkError } from '@bulwark/protocol';
import { formatPath, parsePath } from './path.js';

/** One object or object instance a client announced. */
export interface Lwm2mObjectLink {
  /** "/3" or "/3/0". */
  path: string;
  /** The object version (`ver`) when given. */
  version?: string;
}

/** Links a registration may list: a client with more objects than this is refused (4.13-like 4.00). */
export const MAX_OBJECT_LINKS = 512;

/** Parses the registration payload; an alternate root path must be "/" (not supported otherwise). */
export function parseObjectLinks(text: string): Lwm2mObjectLink[] {
  const out: Lwm2mObjectLink[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return out;
  for (const link of trimmed.split(',')) {
    const m = /^<([^>]*)>((?:;[^;]*)*)$/.exec(link.trim());
    if (!m) throw bad(`"${link.slice(0, 40)}" is not a link`);
    const target = m[1]!;
    const attrs = new Map(
      m[2]!
        .split(';')
        .filter((a) => a !== '')
        .map((a) => {
          const [k, v = ''] = a.split('=');
          return [k!.trim(), v.replace(/^"|"$/g, '')] as const;
        }),
    );
    if (attrs.get('rt') === 'oma.lwm2m') {
      if (target !== '/') throw bad(`alternate root path "${target}" is not supported`);
      continue;
    }
    const path = formatPath(parsePath(target));
    if (path.split('/').length > 3) throw bad(`"${target}" is neither an object nor an instance`);
    const version = attrs.get('ver');
    out.push({ path, ...(version !== undefined ? { version } : {}) });
    if (out.length > MAX_OBJECT_LINKS) throw bad(`more than ${MAX_OBJECT_LINKS} object links`);
  }
  return out;
}

function bad(why: string): BulwarkError {
  return new BulwarkError('validation_failed', `LwM2M registration: ${why}`);
}

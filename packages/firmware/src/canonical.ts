/**
 * Canonical JSON as TUF signs it (OLPC canonical JSON, the same dialect as `@tufjs/canonical-json`):
 * object keys sorted by UTF-16 code unit, no whitespace, integers only, and in strings only `"` and
 * `\` escaped. Signatures and key ids are computed over these bytes, so two encoders that agree on
 * them (python-tuf, go-tuf, tuf-js) verify each other's metadata.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return canonicalString(value);
  if (typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (typeof value === 'number') {
    // Floats have no canonical form in this dialect; refuse them rather than sign an ambiguity.
    if (!Number.isSafeInteger(value)) throw new TypeError(`cannot canonicalize number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(
      ([, v]) => v !== undefined,
    );
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${canonicalString(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`cannot canonicalize a ${typeof value}`);
}

function canonicalString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

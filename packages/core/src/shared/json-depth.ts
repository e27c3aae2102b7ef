/**
 * How deeply a parsed JSON value nests, measured without recursion. A request body may nest
 * arrays 100,000 levels deep in a few hundred KiB; `JSON.parse` copes, but every recursive walk
 * after it (`JSON.stringify`, canonical JSON, signature checks) overflows the stack and the caller
 * gets a 500. Checking depth with an explicit stack first turns that into a precise refusal.
 */

/**
 * The nesting depth of `value` if it is deeper than `limit` (a scalar is 0, `[]` and `{}` are 1),
 * else undefined. Stops at the first container past the limit.
 */
export function jsonDepthBeyond(value: unknown, limit: number): number | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next;
    if (v === null || typeof v !== 'object') continue;
    const d = depth + 1;
    if (d > limit) return d;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, d]);
    }
  }
  return undefined;
}

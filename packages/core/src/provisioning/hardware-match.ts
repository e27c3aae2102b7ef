/**
 * Which hardware ids a claim admits: an allowlist, a glob, both (either admits) or neither (any).
 * The glob (`*` any run, `?` one character, over the hardware id alphabet) is matched by a
 * two-pointer walk rather than a regular expression built from operator input, so matching stays
 * linear-time whatever the pattern (no catastrophic backtracking on a device-supplied id).
 */

/** Does `text` match the glob `pattern`? */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Is `hardwareId` admitted by the allowlist and/or pattern (none given: any is)? */
export function hardwareAllowed(
  rule: { hardwareIds: readonly string[] | null; hardwarePattern: string | null },
  hardwareId: string,
): boolean {
  if (rule.hardwareIds === null && rule.hardwarePattern === null) return true;
  if (rule.hardwareIds?.includes(hardwareId)) return true;
  return rule.hardwarePattern !== null && globMatch(rule.hardwarePattern, hardwareId);
}

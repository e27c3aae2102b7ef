/**
 * IP address literals in one canonical form, so a block on an address (decision 0036, amendment
 * `block_source`) matches every way a socket or a person may write it: an IPv4 peer of a
 * dual-stack socket shows as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2) — the same host as `a.b.c.d` —
 * and an IPv6 address has many spellings (case, leading zeros, `::`), one of which RFC 5952 §4
 * makes canonical. Pure: no sockets, no DNS (a host name is not an address).
 */

/** Strict dotted-quad: four decimal octets, no leading zeros (`0177.0.0.1` is not accepted). */
const V4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function v4Octets(s: string): number[] | null {
  const m = V4.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? o : null;
}

/** The eight 16-bit words of an IPv6 literal (an embedded dotted quad allowed last), or null. */
function v6Words(s: string): number[] | null {
  if (s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (last && i === groups.length - 1 && g.includes('.')) {
        const o = v4Octets(g);
        if (!o) return null;
        out.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (halves.length === 1) {
    const w = parse(s, true);
    return w && w.length === 8 ? w : null;
  }
  const head = parse(halves[0]!, false);
  const tail = parse(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥ 2) of zero words as `::`. */
function formatV6(w: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * The canonical form of an IP address literal, or null when `s` is not one. IPv4 stays dotted;
 * an IPv4-mapped IPv6 address (`::ffff:0:0/96`, in any spelling) becomes its IPv4 address; other
 * IPv6 addresses take RFC 5952's form. A zone (`%eth0`) is dropped: the address is the host.
 * IPv4-compatible (`::a.b.c.d`, deprecated) and NAT64 addresses stay IPv6: no socket reports an
 * IPv4 peer that way.
 */
export function canonicalAddress(s: string): string | null {
  const bare = s.includes('%') ? s.slice(0, s.indexOf('%')) : s;
  const v4 = v4Octets(bare);
  if (v4) return v4.join('.');
  const w = v6Words(bare);
  if (!w) return null;
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff)
    return [w[6]! >> 8, w[6]! & 0xff, w[7]! >> 8, w[7]! & 0xff].join('.');
  return formatV6(w);
}

/** The corpus's payload notation (see shared/mqtt-conformance/README.md) → bytes. */

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
    // Values beyond the legal range are written anyway, on purpose (5+ bytes).
  } while (n > 0);
  return out;
}

/** Tokenize and encode a payload string. */
export function encodeNotation(text: string): Buffer {
  const bytes: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated string in ${text}`);
      bytes.push(...Buffer.from(text.slice(i + 1, end), 'utf8'));
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ') j++;
    const tok = text.slice(i, j);
    i = j;
    const kind = tok[0]!;
    const num = Number(tok.slice(1));
    if ((kind === 'r' || kind === 'v') && /^\d+$/.test(tok.slice(1))) bytes.push(...varint(num));
    else if ('smkH'.includes(kind) && /^\d+$/.test(tok.slice(1))) bytes.push(num >> 8, num & 0xff);
    else if (kind === 'L' && /^\d+$/.test(tok.slice(1))) {
      bytes.push((num >>> 24) & 0xff, (num >> 16) & 0xff, (num >> 8) & 0xff, num & 0xff);
    } else if (kind === 'i' && /^\d+$/.test(tok.slice(1))) bytes.push(num & 0xff);
    else if (/^([0-9a-fA-F]{2})+$/.test(tok)) bytes.push(...Buffer.from(tok, 'hex'));
    else throw new Error(`bad token ${tok} in ${text}`);
  }
  return Buffer.from(bytes);
}

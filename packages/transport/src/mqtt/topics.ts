/** Topic name and topic filter grammar (MQTT 5 §4.7, §4.8; 3.1.1 §4.7). */
import { isUtf8 } from 'node:buffer';

/**
 * Decode an MQTT UTF-8 string from raw bytes, or null when it is not well-formed UTF-8 or contains
 * U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]. Control characters (U+0001–U+001F, U+007F–U+009F) and
 * non-characters are refused as well: the spec says they SHOULD NOT appear and a receiver MAY
 * close [MQTT-1.5.4-3]; we (like Mosquitto) do. Pure-ASCII strings skip the UTF-8 validator.
 */
export function decodeMqttString(buf: Buffer, start: number, end: number): string | null {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b === 0x7f) return null;
    if (b >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  const sub = buf.subarray(start, end);
  if (!isUtf8(sub)) return null;
  const s = sub.toString('utf8');
  return badChars(s) ? null : s;
}

/** True when a decoded string holds U+0000, a control character or a non-character. */
export function badChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
    if ((c & 0xfffe) === 0xfffe || (c >= 0xfdd0 && c <= 0xfdef)) return true;
  }
  return false;
}

/** Why a topic or filter was refused, or null when it is fine. */
export type TopicProblem = 'empty' | 'too_long' | 'too_many_levels' | 'wildcard' | 'invalid';

/** Check a topic name in a PUBLISH. */
export function checkTopicName(
  topic: string,
  byteLength: number,
  maxLength: number,
  maxLevels: number,
): TopicProblem | null {
  // [MQTT-4.7.3-1] Topic names and filters must be at least one character long.
  if (byteLength === 0) return 'empty';
  if (byteLength > maxLength) return 'too_long';
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // [MQTT-3.3.2-2] The Topic Name in a PUBLISH packet MUST NOT contain wildcard characters.
    if (c === 0x23 /* # */ || c === 0x2b /* + */) return 'wildcard';
    if (c === 0x2f /* / */ && ++levels > maxLevels) return 'too_many_levels';
  }
  return null;
}

/** A parsed subscription filter: `$share/{group}/{filter}` split into its parts. */
export interface ParsedFilter {
  filter: string;
  group: string | null;
}

/** Check a topic filter ([MQTT-4.7.1-1]…[MQTT-4.7.1-3]) and split a shared subscription ([MQTT-4.8.2-1], [MQTT-4.8.2-2]). */
export function parseFilter(
  raw: string,
  maxLength: number,
  maxLevels: number,
): ParsedFilter | TopicProblem {
  if (raw.length === 0) return 'empty';
  if (Buffer.byteLength(raw) > maxLength) return 'too_long';
  let filter = raw;
  let group: string | null = null;
  if (raw.startsWith('$share/')) {
    const slash = raw.indexOf('/', 7);
    // [MQTT-4.8.2-1] A ShareName MUST be at least one character long and contain no / + #.
    if (slash <= 7) return 'invalid';
    group = raw.slice(7, slash);
    if (group.includes('+') || group.includes('#')) return 'invalid';
    filter = raw.slice(slash + 1);
    if (filter.length === 0) return 'invalid';
  }
  const levels = filter.split('/');
  if (levels.length > maxLevels) return 'too_many_levels';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#')) {
      // [MQTT-4.7.1-2] '#' must occupy a whole level and be the last character.
      if (l !== '#' || i !== levels.length - 1) return 'invalid';
    } else if (l.includes('+') && l !== '+') {
      // [MQTT-4.7.1-3] '+' must occupy an entire level.
      return 'invalid';
    }
  }
  return { filter, group };
}

/** Does a (non-shared) filter match a topic name? Used for retained messages. */
export function filterMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] Filters starting with a wildcard don't match topics starting with '$'.
  if (topic.charCodeAt(0) === 0x24 && (filter[0] === '+' || filter[0] === '#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true; // also matches the parent level [MQTT-4.7.1-2]
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

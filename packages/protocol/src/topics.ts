/**
 * The MQTT topic grammar of Bulwark (DESIGN.md §3):
 *   channels/{channelId}/messages[/{subtopic}]   data, by channel connection
 *   $devices/{deviceId}/...                      one device's management plane
 * Everything else is denied outside open mode.
 */

/** A data topic, parsed. */
export interface ChannelTopic {
  kind: 'channel';
  channelId: string;
  /** '' when the topic has no subtopic. */
  subtopic: string;
}

/** A device management-plane topic, parsed. */
export interface DeviceTopic {
  kind: 'device';
  deviceId: string;
  /** The levels after the device id, joined with '/'. */
  rest: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Longest subtopic we accept (levels and bytes), so topics stay indexable. */
export const MAX_SUBTOPIC_LENGTH = 1024;

/**
 * Parses a topic name (no wildcards) or a topic filter. For a filter, the channel or device id must
 * be concrete (no `+`/`#` there) — rights are granted per channel, so a wildcard over channels could
 * not be authorized — but wildcards may follow in the subtopic.
 */
export function parseTopic(topic: string): ChannelTopic | DeviceTopic | undefined {
  // Every message is parsed twice (authorization, then ingest) and devices repeat their topics:
  // answers are kept (frozen) for the last PARSED_TOPICS_MAX distinct topics.
  let parsed = parsedTopics.get(topic);
  if (parsed === undefined && !parsedTopics.has(topic)) {
    parsed = parse(topic);
    if (parsed !== undefined) Object.freeze(parsed);
    if (parsedTopics.size >= PARSED_TOPICS_MAX) parsedTopics.clear();
    parsedTopics.set(topic, parsed);
  }
  return parsed;
}

const PARSED_TOPICS_MAX = 20_000;
const parsedTopics = new Map<string, Readonly<ChannelTopic | DeviceTopic> | undefined>();

function parse(topic: string): ChannelTopic | DeviceTopic | undefined {
  const levels = topic.split('/');
  if (levels[0] === 'channels') {
    const channelId = levels[1];
    if (channelId === undefined || !UUID.test(channelId)) return undefined;
    if (levels[2] === '#' && levels.length === 3)
      return { kind: 'channel', channelId, subtopic: '#' };
    if (levels[2] !== 'messages') return undefined;
    const subtopic = levels.slice(3).join('/');
    if (subtopic.length > MAX_SUBTOPIC_LENGTH) return undefined;
    if (levels.length > 3 && subtopic === '') return undefined;
    return { kind: 'channel', channelId, subtopic };
  }
  if (levels[0] === '$devices') {
    const deviceId = levels[1];
    if (deviceId === undefined || !UUID.test(deviceId)) return undefined;
    return { kind: 'device', deviceId, rest: levels.slice(2).join('/') };
  }
  return undefined;
}

/** The MQTT topic a channel message is delivered on. */
export function channelTopic(channelId: string, subtopic: string): string {
  return subtopic === ''
    ? `channels/${channelId}/messages`
    : `channels/${channelId}/messages/${subtopic}`;
}

/** Most levels a published subtopic may have (deeper trees are not a naming scheme but a payload). */
export const MAX_SUBTOPIC_LEVELS = 16;

/**
 * Why a published message's subtopic is not acceptable, or undefined when it is (the empty
 * subtopic — none — is). Every protocol's ingest checks it, so a subtopic that MQTT could not
 * carry does not enter by HTTP or CoAP either:
 * - no `+` or `#`: wildcards belong in subscriptions only [MQTT-3.3.2-2];
 * - no U+0000 [MQTT-1.5.4-2], no other control character (C0, DEL, C1) and no lone surrogate
 *   [MQTT-1.5.4-1]: they break subscribers and logs;
 * - no empty level (leading, trailing or double `/`), at most MAX_SUBTOPIC_LEVELS levels and
 *   MAX_SUBTOPIC_LENGTH UTF-8 bytes, so topics stay indexable.
 */
export function subtopicProblem(subtopic: string): string | undefined {
  if (subtopic === '') return undefined;
  if (hasWildcard(subtopic)) return 'a subtopic must not contain the wildcards + or #';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(subtopic))
    return 'a subtopic must not contain NUL or other control characters';
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(subtopic))
    return 'a subtopic must be valid Unicode (no lone surrogates)';
  // Checked on every message: one scan, no allocation (split and TextEncoder showed in profiles).
  let levels = 1;
  let prev = -1;
  for (let i = subtopic.indexOf('/'); i >= 0; i = subtopic.indexOf('/', i + 1)) {
    if (i === prev + 1) return 'a subtopic must not have empty levels';
    prev = i;
    levels++;
  }
  if (prev === subtopic.length - 1) return 'a subtopic must not have empty levels';
  if (levels > MAX_SUBTOPIC_LEVELS)
    return `a subtopic may have at most ${MAX_SUBTOPIC_LEVELS} levels`;
  if (utf8LongerThan(subtopic, MAX_SUBTOPIC_LENGTH))
    return `a subtopic may have at most ${MAX_SUBTOPIC_LENGTH} bytes`;
  return undefined;
}

/** Is a well-formed string (lone surrogates refused before) longer than `max` bytes in UTF-8? */
function utf8LongerThan(s: string, max: number): boolean {
  if (s.length * 3 <= max) return false; // at most 3 bytes per UTF-16 unit: cannot exceed
  if (s.length > max) return true;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair: one 4-byte sequence for two UTF-16 units
      i++;
    } else n += 3;
  }
  return n > max;
}

/** Does a subtopic contain MQTT wildcards (only allowed in subscriptions)? */
export function hasWildcard(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

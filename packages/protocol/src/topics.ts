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

/** Does a subtopic contain MQTT wildcards (only allowed in subscriptions)? */
export function hasWildcard(s: string): boolean {
  return s.includes('+') || s.includes('#');
}

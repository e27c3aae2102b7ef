/** The one resource family of the adapter: /channels/{channelId}/messages[/{subtopic…}]. */
import { BulwarkError, MAX_SUBTOPIC_LENGTH, hasWildcard } from '@bulwark/protocol';

/** A parsed resource path. */
export interface ResourceRef {
  channelId: string;
  /** '' when there is no subtopic. */
  subtopic: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Parses the Uri-Path segments (RFC 7252 §6.5: one option per segment, already percent-decoded).
 * Unknown shapes are route_not_found (4.04); a malformed subtopic is topic_invalid (4.00).
 */
export function parseResource(segments: readonly string[]): ResourceRef {
  const [root, channelId, leaf, ...rest] = segments;
  if (root !== 'channels' || leaf !== 'messages' || channelId === undefined) {
    throw new BulwarkError('route_not_found', 'no such resource: use /channels/{id}/messages');
  }
  if (!UUID.test(channelId)) throw new BulwarkError('route_not_found', 'channel id is not a UUID');
  for (const level of rest) {
    // A '/' inside one segment would make the subtopic ambiguous; wildcards are MQTT filter syntax.
    if (level === '' || level.includes('/') || level.includes('\0') || hasWildcard(level)) {
      throw new BulwarkError(
        'topic_invalid',
        'subtopic levels must be non-empty, without / + # or NUL',
      );
    }
  }
  const subtopic = rest.join('/');
  if (subtopic.length > MAX_SUBTOPIC_LENGTH) {
    throw new BulwarkError('topic_invalid', `subtopic longer than ${MAX_SUBTOPIC_LENGTH}`);
  }
  return { channelId, subtopic };
}

/** The key observers and representations are filed under. */
export function resourceKey(r: ResourceRef): string {
  return `${r.channelId}\n${r.subtopic}`;
}

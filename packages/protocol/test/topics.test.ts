import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { channelTopic, parseTopic } from '@bulwark/protocol';

const C = '01a20ca9-f821-7000-a064-1754bc19ad52';

describe('topic grammar (DESIGN.md §3)', () => {
  it('parses channel data topics with and without subtopics', () => {
    assert.deepEqual(parseTopic(`channels/${C}/messages`), {
      kind: 'channel',
      channelId: C,
      subtopic: '',
    });
    assert.deepEqual(parseTopic(`channels/${C}/messages/room1/temp`), {
      kind: 'channel',
      channelId: C,
      subtopic: 'room1/temp',
    });
    assert.deepEqual(parseTopic(`channels/${C}/messages/#`), {
      kind: 'channel',
      channelId: C,
      subtopic: '#',
    });
    assert.equal(channelTopic(C, ''), `channels/${C}/messages`);
    assert.equal(channelTopic(C, 'a/b'), `channels/${C}/messages/a/b`);
  });
  it('parses the device management plane', () => {
    assert.deepEqual(parseTopic(`$devices/${C}/twin/reported`), {
      kind: 'device',
      deviceId: C,
      rest: 'twin/reported',
    });
  });
  it('refuses wildcards over the channel or device id, and anything else', () => {
    for (const t of [
      'channels/+/messages',
      'channels/#',
      '#',
      `channels/${C}/other`,
      `channels/${C}/messages/`,
      '$devices/+/twin',
      'foo/bar',
      `channels/${C.toUpperCase()}/messages`,
      '',
    ]) {
      assert.equal(parseTopic(t), undefined, t);
    }
  });
});

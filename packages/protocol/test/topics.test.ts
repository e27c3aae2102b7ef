import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { channelTopic, MAX_SUBTOPIC_LENGTH, parseTopic, subtopicProblem } from '@bulwark/protocol';

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

describe('published subtopics (issue 11): one check for every protocol', () => {
  it('accepts none, plain levels and Unicode', () => {
    for (const ok of ['', 'room1', 'room1/temp', 'küche/température', 'a b/c-d_e.f', '😀/x'])
      assert.equal(subtopicProblem(ok), undefined, ok);
    assert.equal(subtopicProblem(Array.from({ length: 16 }, () => 'l').join('/')), undefined);
  });
  it('refuses wildcards, NUL, control characters and lone surrogates', () => {
    for (const bad of [
      'a/+/b',
      '+',
      'a/#',
      '#',
      'a+b',
      'a\u0000b',
      'a\u0001',
      'x\u001f',
      'del\u007f',
    ])
      assert.match(subtopicProblem(bad) ?? '', /wildcard|control/, JSON.stringify(bad));
    assert.match(subtopicProblem('c1\u0085') ?? '', /control/);
    assert.match(subtopicProblem('bad\ud800') ?? '', /Unicode/);
    assert.match(subtopicProblem('\udc00bad') ?? '', /Unicode/);
  });
  it('refuses empty levels and bounds levels and bytes', () => {
    for (const bad of ['/a', 'a/', 'a//b', '/'])
      assert.match(subtopicProblem(bad) ?? '', /empty level/, bad);
    assert.match(
      subtopicProblem(Array.from({ length: 17 }, () => 'l').join('/')) ?? '',
      /at most 16 levels/,
    );
    assert.match(subtopicProblem('x'.repeat(MAX_SUBTOPIC_LENGTH + 1)) ?? '', /bytes/);
    // bytes, not characters: 400 × 3-byte characters is over 1024 bytes
    assert.match(subtopicProblem('€'.repeat(400)) ?? '', /bytes/);
    assert.equal(subtopicProblem('x'.repeat(MAX_SUBTOPIC_LENGTH)), undefined);
    // At the boundary, counted as UTF-8 does: 2-byte, 3-byte and 4-byte (surrogate pair) characters.
    const enc = new TextEncoder();
    for (const [unit, n] of [
      ['é', 512],
      ['€', 341],
      ['😀', 256],
    ] as const) {
      for (const s of [unit.repeat(n), unit.repeat(n) + 'x', `a/${unit.repeat(n - 1)}`]) {
        const over = enc.encode(s).length > MAX_SUBTOPIC_LENGTH;
        assert.equal(subtopicProblem(s) !== undefined, over, `${unit} × ${s.length}`);
      }
    }
  });
});

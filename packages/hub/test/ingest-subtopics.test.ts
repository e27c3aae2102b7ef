/**
 * Issue 11: HTTP ingest took `#`, `+` and NUL in subtopics (and the NUL reached MQTT subscribers).
 * The one ingest path now checks every subtopic against the topic grammar: refused with
 * topic_invalid, and nothing stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('HTTP ingest refuses subtopics MQTT could not carry', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let auth: string;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'telemetry' } })).id;
    const d = await s.api.devices.create({ name: 'sensor', type: 'sensor' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.call('connectClient', {
      params: { id: channelId },
      body: { clientType: 'device', clientId: d.id, publish: true, subscribe: false },
    });
    auth = `Basic ${Buffer.from(`${d.id}:${key}`).toString('base64')}`;
  });
  after(() => t.close());

  const post = (subpath: string) =>
    t.fetchWith()(`${t.url}/api/v1/channels/${channelId}/messages/${subpath}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'text/plain' },
      body: 'x',
    });
  const stored = async () =>
    (await s.api.call('listMessages', { params: { id: channelId }, query: {} })).items.map(
      (m) => m.subtopic,
    );

  it('accepts a plain subtopic', async () => {
    const r = await post('room1/temp');
    assert.equal(r.status, 202, await r.text());
    assert.deepEqual(await stored(), ['room1/temp']);
  });

  it('refuses wildcards, NUL, control characters and empty or too many levels; stores nothing', async () => {
    const bad = {
      plus: 'a/+/b',
      hash: 'a/%23',
      nul: 'a%00b',
      control: 'a%01b',
      del: 'x%7F',
      'empty level': 'a//b',
      'trailing slash': 'a/',
      'too deep': Array.from({ length: 17 }, (_, i) => `l${i}`).join('/'),
    };
    for (const [what, path] of Object.entries(bad)) {
      const r = await post(path);
      const body = (await r.json()) as { code: string };
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'topic_invalid', what);
    }
    assert.deepEqual(await stored(), ['room1/temp']);
  });
});

/**
 * Saved fleet views over HTTP (issue 15 item 2, decision 0038 amendment): each principal's own
 * named filters. Saved by name (a second save replaces), listed by name, applied as a device
 * list query; another user of the organization neither sees nor deletes them; a bad query or
 * name is refused with nothing stored; at most 50 per user.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SAVED_VIEWS } from '@bulwark/protocol';
import { PASSWORD, raw, rejectsWith, setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('saved fleet views', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let viewer: ReturnType<TestHub['client']>;
  let viewerToken: string;
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    await s.owner.users.create({
      email: 'viewer@example.com',
      name: 'Vic Viewer',
      password: PASSWORD,
      role: 'viewer',
    });
    viewerToken = (await t.client().auth.login({ email: 'viewer@example.com', password: PASSWORD }))
      .accessToken;
    viewer = t.client(viewerToken);
    await s.api.devices.create({ name: 'pump-1', type: 'pump', tags: ['roof'] });
    await s.api.devices.create({ name: 'pump-2', type: 'pump' });
    await s.api.devices.create({ name: 'oven-1', type: 'oven', tags: ['roof'] });
  });
  after(() => t.close());

  it('saves by name, replaces on the same name, lists by name; the query applies as a list', async () => {
    const roof = await s.owner.views.save({
      name: 'roof pumps',
      query: { type: 'pump', tag: 'roof', sort: '-name' },
    });
    await s.owner.views.save({ name: 'all ovens', query: { type: 'oven' } });
    const again = await s.owner.views.save({
      name: 'roof pumps',
      query: { type: 'pump', tag: ['roof'], online: false, sort: 'name' },
    });
    assert.equal(again.id, roof.id);
    assert.equal(again.createdAt, roof.createdAt);
    const list = await s.owner.views.list();
    assert.deepEqual(
      list.map((v) => v.name),
      ['all ovens', 'roof pumps'],
    );
    const applied = await s.owner.devices.list(list[1]!.query);
    assert.deepEqual(
      applied.items.map((d) => d.name),
      ['pump-1'],
    );
    assert.equal(applied.total, 1);
  });

  it("keeps each user's views to themselves: another user neither lists nor deletes them", async () => {
    const mine = (await s.owner.views.list())[0]!;
    assert.deepEqual(await viewer.views.list(), []);
    await rejectsWith(viewer.views.delete(mine.id), 'not_found');
    const theirs = await viewer.views.save({ name: 'roof pumps', query: { tag: 'roof' } });
    assert.notEqual(theirs.id, (await s.owner.views.list())[1]!.id);
    assert.equal((await s.owner.views.list()).length, 2);
    await viewer.views.delete(theirs.id);
    assert.deepEqual(await viewer.views.list(), []);
    await rejectsWith(viewer.views.delete(theirs.id), 'not_found');
  });

  it('refuses a bad name, an unknown or malformed query field and paging in a view; stores nothing', async () => {
    const before = (await s.owner.views.list()).length;
    for (const body of [
      { name: '', query: {} },
      { name: ' padded', query: {} },
      { name: 'x'.repeat(65), query: {} },
      { name: 'ok', query: { cursor: 'abc' } },
      { name: 'ok', query: { offset: 5 } },
      { name: 'ok', query: { sort: 'id' } },
      { name: 'ok', query: { online: 'maybe' } },
      { name: 'ok', query: { owner: 'me' } },
      { name: 'ok' },
    ]) {
      const r = await raw(t, 'POST', '/views', body, s.tokens.accessToken);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(
        String(r.json['code']),
        /^(validation_failed|unknown_field)$/,
        JSON.stringify(body),
      );
    }
    assert.equal((await s.owner.views.list()).length, before);
    const unauth = await raw(t, 'GET', '/views');
    assert.equal(unauth.status, 401);
  });

  it(`keeps at most ${MAX_SAVED_VIEWS} per user; replacing one at the limit still works`, async () => {
    const have = (await viewer.views.list()).length;
    for (let i = have; i < MAX_SAVED_VIEWS; i++)
      await viewer.views.save({ name: `v-${i}`, query: { q: String(i) } });
    await rejectsWith(viewer.views.save({ name: 'one too many', query: {} }), 'quota_exceeded');
    const replaced = await viewer.views.save({ name: 'v-3', query: { q: 'three' } });
    assert.deepEqual(replaced.query, { q: 'three' });
    assert.equal((await viewer.views.list()).length, MAX_SAVED_VIEWS);
    // The owner's quota is their own.
    await s.owner.views.save({ name: 'still fine', query: {} });
  });
});

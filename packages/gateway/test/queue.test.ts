import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { QUEUE_FIRING, QUEUE_RULED, QueueFullError, UplinkQueue } from '../src/queue.js';
import { tempDir } from './helpers.js';

const msg = (device: string, text: string) => ({
  device,
  channel: '01a24df3-5fc3-7000-97a7-cf5e3f0a7f9c',
  subtopic: 's',
  contentType: undefined,
  payload: Buffer.from(text),
});

describe('uplink queue', () => {
  it('keeps accepted messages across a reopen, in order, with increasing ids', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'q.db');
      const q = new UplinkQueue(file, { maxMessages: 100, maxBytes: 1 << 20 });
      const ids = await Promise.all(['a', 'b', 'c'].map((x) => q.add(msg('d1', x))));
      q.close();
      const again = new UplinkQueue(file, { maxMessages: 100, maxBytes: 1 << 20 });
      assert.deepEqual(again.size, { messages: 3, bytes: 3 });
      const rows = again.peek(0, 10, 1 << 20);
      assert.deepEqual(
        rows.map((r) => [r.id, Buffer.from(r.payload).toString()]),
        ids.map((id, i) => [id, 'abc'[i]]),
      );
      assert.deepEqual([...ids].sort(), ids);
      again.remove(rows[0]!.seq, rows[1]!.seq);
      assert.deepEqual(again.size, { messages: 1, bytes: 1 });
      assert.deepEqual(
        again.peek(0, 10, 1 << 20).map((r) => r.id),
        [ids[2]],
      );
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses new messages when full (count or bytes) and accepts again once drained', async () => {
    const dir = tempDir();
    try {
      const q = new UplinkQueue(join(dir, 'q.db'), { maxMessages: 3, maxBytes: 1024 });
      await Promise.all([1, 2, 3].map((n) => q.add(msg('d1', `m${n}`))));
      await assert.rejects(
        q.add(msg('d1', 'm4')),
        (e) => e instanceof QueueFullError && e.limit === 'messages',
      );
      const big = new UplinkQueue(join(dir, 'q2.db'), { maxMessages: 100, maxBytes: 1024 });
      await big.add({ ...msg('d1', ''), payload: Buffer.alloc(1000) });
      await assert.rejects(
        big.add({ ...msg('d1', ''), payload: Buffer.alloc(100) }),
        (e) => e instanceof QueueFullError && e.limit === 'bytes',
      );
      big.close();
      // Nothing accepted was dropped to make room; after the hub took some, there is room.
      const rows = q.peek(0, 10, 1 << 20);
      assert.deepEqual(
        rows.map((r) => Buffer.from(r.payload).toString()),
        ['m1', 'm2', 'm3'],
      );
      q.remove(rows[0]!.seq, rows[0]!.seq);
      await q.add(msg('d1', 'm4'));
      assert.equal(q.size.messages, 3);
      q.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('peeks within a byte budget (always at least one message)', async () => {
    const dir = tempDir();
    try {
      const q = new UplinkQueue(join(dir, 'q.db'), { maxMessages: 100, maxBytes: 1 << 20 });
      await Promise.all(
        [1, 2, 3].map(() => q.add({ ...msg('d1', ''), payload: Buffer.alloc(600) })),
      );
      assert.equal(q.peek(0, 10, 1000).length, 1);
      assert.equal(q.peek(0, 10, 1200).length, 2);
      assert.equal(q.peek(0, 10, 100).length, 1);
      q.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a queue made before rules ran at the site gains the flags; old rows have none', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'q.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE uplink (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        device TEXT NOT NULL, channel TEXT NOT NULL, subtopic TEXT NOT NULL, content_type TEXT,
        payload BLOB NOT NULL)`);
      old
        .prepare(
          `INSERT INTO uplink (id, device, channel, subtopic, payload) VALUES (?, ?, ?, ?, ?)`,
        )
        .run('01a24df3-5fc3-7000-97a7-cf5e3f0a7f9d', 'd1', 'c', 's', Buffer.from('old'));
      old.close();
      const q = new UplinkQueue(file, { maxMessages: 2, maxBytes: 1 << 20 });
      await q.add({ ...msg('d1', 'new'), flags: QUEUE_RULED });
      // Full, but a firing that goes with an accepted message is still taken.
      await assert.rejects(q.add(msg('d1', 'x')), QueueFullError);
      await q.add({ ...msg('d1', '{}'), channel: '', subtopic: '', flags: QUEUE_FIRING }, true);
      assert.deepEqual(
        q.peek(0, 10, 1 << 20).map((r) => [Buffer.from(r.payload).toString(), r.flags]),
        [
          ['old', 0],
          ['new', QUEUE_RULED],
          ['{}', QUEUE_FIRING],
        ],
      );
      q.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

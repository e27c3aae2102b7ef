import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirFiles } from '../src/files/dir-files.js';
import { MemoryFiles } from '../src/files/memory-files.js';
import { DiskQueue, QueueFullError } from '../src/runtime/queue.js';
import { cleanup, tempDir } from './helpers.js';

const msg = (i: number, size = 10) => ({
  topic: `channels/x/messages/${i}`,
  payload: new Uint8Array(size).fill(i % 256),
  qos: 1 as const,
  at: i,
});

describe('files', () => {
  it('DirFiles writes atomically, secrets 0600, lists by prefix, wipes, and sweeps crash leftovers', async () => {
    const dir = tempDir();
    try {
      const f = await DirFiles.open(dir);
      await f.write('identity/key-1.pem', new TextEncoder().encode('k'), { secret: true });
      await f.write('queue/a/1', new Uint8Array([1]));
      await f.write('queue/a/1', new Uint8Array([2]));
      assert.equal(statSync(join(dir, 'identity/key-1.pem')).mode & 0o777, 0o600);
      assert.deepEqual(await f.read('queue/a/1'), new Uint8Array([2]));
      assert.deepEqual(await f.list('queue/'), ['queue/a/1']);
      assert.equal(await f.read('nope'), undefined);
      await assert.rejects(f.write('../escape', new Uint8Array()), /invalid storage name/);
      writeFileSync(join(dir, 'queue/a/2.tmp-abc'), 'half');
      assert.deepEqual(await f.list('queue/'), ['queue/a/1']);
      await DirFiles.open(dir);
      assert.deepEqual(readdirSync(join(dir, 'queue/a')), ['1']);
      await f.wipe();
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      cleanup(dir);
    }
  });
});

describe('offline queue', () => {
  it('keeps order across a reopen and removes only acknowledged entries', async () => {
    const files = new MemoryFiles();
    const limits = { maxMessages: 100, maxBytes: 1 << 20, overflow: 'drop-oldest' as const };
    const { queue } = await DiskQueue.open(files, 'q/', limits);
    for (let i = 1; i <= 5; i++) await queue.push(msg(i));
    await queue.ack((await queue.peek(1))[0]!.seq);
    const { queue: again } = await DiskQueue.open(files, 'q/', limits);
    assert.deepEqual(
      (await again.peek(10)).map((e) => e.at),
      [2, 3, 4, 5],
    );
    await again.push(msg(6));
    assert.deepEqual(
      (await again.peek(10)).map((e) => e.at),
      [2, 3, 4, 5, 6],
    );
  });

  it('drop-oldest makes room and says how many it dropped', async () => {
    const { queue } = await DiskQueue.open(new MemoryFiles(), 'q/', {
      maxMessages: 3,
      maxBytes: 1 << 20,
      overflow: 'drop-oldest',
    });
    for (let i = 1; i <= 3; i++) assert.equal((await queue.push(msg(i))).dropped, 0);
    assert.equal((await queue.push(msg(4))).dropped, 1);
    assert.deepEqual(
      (await queue.peek(10)).map((e) => e.at),
      [2, 3, 4],
    );
  });

  it('refuse-new refuses by count and by bytes, leaving the queue as it was', async () => {
    const { queue } = await DiskQueue.open(new MemoryFiles(), 'q/', {
      maxMessages: 2,
      maxBytes: 200,
      overflow: 'refuse-new',
    });
    await queue.push(msg(1));
    await queue.push(msg(2));
    await assert.rejects(queue.push(msg(3)), QueueFullError);
    assert.equal(queue.length, 2);
    const { queue: small } = await DiskQueue.open(new MemoryFiles(), 'q/', {
      maxMessages: 10,
      maxBytes: 200,
      overflow: 'refuse-new',
    });
    await assert.rejects(small.push(msg(1, 500)), QueueFullError);
  });

  it('a full disk rejects with ENOSPC and never corrupts what is queued', async () => {
    const files = new MemoryFiles({ capacityBytes: 400 });
    const limits = { maxMessages: 100, maxBytes: 1 << 20, overflow: 'drop-oldest' as const };
    const { queue } = await DiskQueue.open(files, 'q/', limits);
    let ok = 0;
    let enospc = 0;
    for (let i = 1; i <= 20; i++) {
      try {
        await queue.push(msg(i, 50));
        ok++;
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
        enospc++;
      }
    }
    assert.ok(ok > 0 && enospc > 0);
    const { queue: again, corrupt } = await DiskQueue.open(files, 'q/', limits);
    assert.equal(corrupt, 0);
    assert.deepEqual(
      (await again.peek(100)).map((e) => e.at),
      Array.from({ length: ok }, (_, i) => i + 1),
    );
  });
});

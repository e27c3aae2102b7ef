import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, type Envelope } from '@bulwark/core';
import { openSqliteStorage } from '@bulwark/store-sqlite';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-writer-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `${++n}.db`);

const orgId = newId();
const channelId = newId();
const envelopes = (count: number, over: Partial<Envelope> = {}): Envelope[] =>
  Array.from({ length: count }, (_, i) => ({
    id: newId(),
    orgId,
    channelId,
    subtopic: '',
    publisher: { type: 'device', id: 'd' },
    protocol: 'mqtt',
    contentType: 'application/senml+json',
    receivedAt: 1_735_689_600_000 + i,
    payload: new Uint8Array(64),
    senml: [
      { n: 'temp', v: i, t: 1_735_689_600 + i },
      { n: 'hum', v: i, t: 1_735_689_600 + i },
    ],
    origin: 'n',
    ...over,
  }));

/** Event-loop turns that pass while `p` is pending. */
async function turnsWhile(p: Promise<unknown>): Promise<number> {
  let pending = true;
  let turns = 0;
  const settled = p.finally(() => {
    pending = false;
  });
  while (pending) {
    await new Promise((r) => setImmediate(r));
    if (pending) turns++;
  }
  await settled;
  return turns;
}

const stored = async (path: string): Promise<number> => {
  const s = await openSqliteStorage({ path, writerThread: false });
  try {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page = await s.messages.query(orgId, channelId, {}, { limit: 1000, cursor });
      count += page.items.length;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return count;
  } finally {
    await s.close();
  }
};

describe('SQLite message writer thread', () => {
  it('appends a database file’s batches off the event loop (and on it when told not to)', async () => {
    const threaded = await openSqliteStorage({ path: file(), durability: 'full' });
    const inline = await openSqliteStorage({ path: file(), writerThread: false });
    try {
      await threaded.messages.appendBatch(envelopes(1)); // starts the thread
      assert.ok((await turnsWhile(threaded.messages.appendBatch(envelopes(3000)))) > 0);
      assert.equal(await turnsWhile(inline.messages.appendBatch(envelopes(3000))), 0);
    } finally {
      await threaded.close();
      await inline.close();
    }
  });

  it('close waits for the batches handed over; everything acknowledged is in the file', async () => {
    const path = file();
    const s = await openSqliteStorage({ path });
    const writes = [s.messages.appendBatch(envelopes(500)), s.messages.appendBatch(envelopes(700))];
    await s.close();
    await Promise.all(writes);
    assert.equal(await stored(path), 1200);
  });

  it('a failing batch rejects alone; the thread goes on with the next', async () => {
    const path = file();
    const s = await openSqliteStorage({ path });
    try {
      const bad = envelopes(10);
      (bad[5] as { contentType: unknown }).contentType = null;
      const results = await Promise.allSettled([
        s.messages.appendBatch(envelopes(10)),
        s.messages.appendBatch(bad),
        s.messages.appendBatch(envelopes(10)),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((results[1] as PromiseRejectedResult).reason), /NOT NULL/);
    } finally {
      await s.close();
    }
    assert.equal(await stored(path), 20);
  });
});

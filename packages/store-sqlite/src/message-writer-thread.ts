/**
 * The message writer thread (decision 0019): its own connection to the database file appends the
 * batches the main thread posts, so SQLite's work — and at durability `full` the fsync — runs on
 * another core while the main thread keeps reading sockets and gathering the next batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { tuneForIngest } from './connection-tuning.js';
import { createAppend } from './message-append.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './message-writer.js';
import { unpackBatch } from './writer-batch.js';

const port = parentPort;
if (port === null) throw new Error('message-writer-thread runs only as a worker thread');
const data = workerData as WriterThreadData;
const db = new BetterSqlite3(data.path);
// The main connection made the database WAL; these settings are per connection.
db.pragma(`synchronous = ${data.synchronous}`);
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
tuneForIngest(db);
const append = createAppend(db);

port.on('message', (m: WriterRequest) => {
  if (m.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    append(unpackBatch(m.batch));
    reply = { id: m.id };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

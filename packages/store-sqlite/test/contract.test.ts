import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageContract } from '@bulwark/testkit';
import { openSqliteStorage } from '@bulwark/store-sqlite';

storageContract('sqlite (:memory:)', () => openSqliteStorage({ path: ':memory:' }));

// A database file: message batches go through the writer thread (decision 0019).
const dir = mkdtempSync(join(tmpdir(), 'bulwark-sqlite-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
storageContract('sqlite (file, writer thread)', () =>
  openSqliteStorage({ path: join(dir, `${++n}.db`) }),
);

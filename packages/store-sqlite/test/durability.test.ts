import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '@bulwark/store-sqlite';

describe('SQLite durability', () => {
  it('runs WAL at synchronous=NORMAL by default and FULL on request, as read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-durability-'));
    try {
      const normal = await openSqliteStorage({ path: join(dir, 'a.db') });
      assert.equal(normal.durability, 'normal');
      await normal.close();
      const full = await openSqliteStorage({ path: join(dir, 'b.db'), durability: 'full' });
      assert.equal(full.durability, 'full');
      await full.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a durability it does not know, before anything is written', async () => {
    await assert.rejects(
      openSqliteStorage({ path: ':memory:', durability: 'fast' as 'full' }),
      /unknown durability "fast"/,
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { openPostgresStorage } from '@bulwark/store-postgres';

const skip = await requirePostgres();
const schemas = withPostgresSchemas();

describe('PostgreSQL durability', { skip }, () => {
  it('runs sessions at synchronous_commit=off by default and on for full, as read back', async () => {
    const normal = await openPostgresStorage({ url: schemas.url, schema: schemas.next(), max: 2 });
    const full = await openPostgresStorage({
      url: schemas.url,
      schema: schemas.next(),
      max: 2,
      durability: 'full',
    });
    try {
      // Two pools on one server: each session carries its own setting.
      assert.equal(normal.durability, 'normal');
      assert.equal(full.durability, 'full');
    } finally {
      await normal.close();
      await full.close();
    }
  });
  it('refuses a durability it does not know, before connecting', async () => {
    await assert.rejects(
      openPostgresStorage({ url: schemas.url, durability: 'fast' as 'full' }),
      /unknown durability "fast"/,
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference, errorsReference } from '@bulwark/hub';

const root = new URL('../../../../', import.meta.url);

describe('reference docs', () => {
  it('docs/reference/errors.md lists every error code (run `node scripts/gen-docs.mjs`)', () => {
    assert.equal(
      readFileSync(new URL('docs/reference/errors.md', root), 'utf8'),
      errorsReference(),
    );
  });
  it('docs/reference/config.md lists every setting (run `node scripts/gen-docs.mjs`)', () => {
    assert.equal(
      readFileSync(new URL('docs/reference/config.md', root), 'utf8'),
      configReference(),
    );
  });
});

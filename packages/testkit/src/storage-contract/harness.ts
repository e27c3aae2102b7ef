import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { BulwarkError, type ErrorCode } from '@bulwark/protocol';
import type { Storage } from '@bulwark/core';

/** Opens a fresh, empty Storage (each suite gets its own). */
export type OpenStorage = () => Promise<Storage>;

/**
 * Registers hooks in the current `describe` that open a fresh storage before its tests and close it
 * after; returns a getter for use inside the tests.
 */
export function useStorage(open: OpenStorage): () => Storage {
  let storage: Storage | undefined;
  before(async () => {
    storage = await open();
  });
  after(async () => {
    await storage?.close();
  });
  return () => {
    if (storage === undefined) throw new Error('storage is not open (did `before` fail?)');
    return storage;
  };
}

/** Asserts that `promise` rejects with a BulwarkError of `code`. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof BulwarkError, `expected a BulwarkError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

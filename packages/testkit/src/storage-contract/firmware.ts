import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { newId, type FirmwareArtifactRecord, type FirmwareRootRecord } from '@bulwark/core';
import { T0, seedOrg } from './fixtures.js';
import { useStorage, type OpenStorage } from './harness.js';

const artifactFx = (
  orgId: string,
  over: Partial<FirmwareArtifactRecord> = {},
): FirmwareArtifactRecord => ({
  id: newId(),
  orgId,
  name: 'gateway-1.4.2.img',
  types: ['gateway', 'rpi4'],
  hardware: [],
  version: '1.4.2',
  releaseCounter: 42,
  length: 5_000_000_000, // above 2^32: lengths must survive as integers
  sha256: randomBytes(32).toString('hex'),
  metadata: '{"signed":{"_type":"targets"},"signatures":[]}',
  state: 'pending',
  blobKey: null,
  createdBy: newId(),
  createdAt: T0,
  ...over,
});

const UPLOADER = newId();
const rootFx = (orgId: string, version: number): FirmwareRootRecord => ({
  orgId,
  version,
  root: JSON.stringify({ signed: { _type: 'root', version }, signatures: [] }),
  updatedBy: UPLOADER,
  updatedAt: T0 + version,
});

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

/** FirmwareStore: trusted roots (compare-and-set), artifacts, their states and blob sharing. */
export function firmwareSuite(open: OpenStorage): void {
  describe('FirmwareStore', () => {
    const s = useStorage(open);

    it('sets a first root only once, then rotates only from the expected version', async () => {
      const org = await seedOrg(s());
      assert.equal(await s().firmware.getRoot(org.id), undefined);
      assert.equal(await s().firmware.putRoot(rootFx(org.id, 1), null), true);
      assert.equal(await s().firmware.putRoot(rootFx(org.id, 9), null), false);
      assert.deepEqual(await s().firmware.getRoot(org.id), rootFx(org.id, 1));
      assert.equal(await s().firmware.putRoot(rootFx(org.id, 2), 5), false);
      assert.equal(await s().firmware.putRoot(rootFx(org.id, 2), 1), true);
      assert.deepEqual(await s().firmware.getRoot(org.id), rootFx(org.id, 2));
      const other = await seedOrg(s());
      assert.equal(await s().firmware.getRoot(other.id), undefined);
    });

    it('creates, reads and readies an artifact, every field round-tripping', async () => {
      const org = await seedOrg(s());
      const a = artifactFx(org.id, { hardware: ['rev-b'] });
      await s().firmware.createArtifact(a);
      assert.deepEqual(await s().firmware.getArtifact(org.id, a.id), a);
      const key = a.sha256;
      assert.equal(await s().firmware.markReady(org.id, a.id, key), true);
      assert.equal(await s().firmware.markReady(org.id, a.id, key), false);
      assert.deepEqual(await s().firmware.getArtifact(org.id, a.id), {
        ...a,
        state: 'ready',
        blobKey: key,
      });
      assert.equal(await s().firmware.getArtifact(org.id, newId()), undefined);
    });

    it('refuses a second artifact with the same image in one organization, not across', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const a = artifactFx(org.id);
      await s().firmware.createArtifact(a);
      await rejectsWithCode(
        s().firmware.createArtifact(artifactFx(org.id, { sha256: a.sha256 })),
        'firmware_artifact_exists',
      );
      await s().firmware.createArtifact(artifactFx(other.id, { sha256: a.sha256 }));
    });

    it('replaces a pending artifact with the same image, never a ready one', async () => {
      const org = await seedOrg(s());
      const a = artifactFx(org.id);
      assert.equal(await s().firmware.replacePendingArtifact(a), false);
      assert.equal(await s().firmware.getArtifact(org.id, a.id), undefined);
      await s().firmware.createArtifact(a);
      const b = artifactFx(org.id, { sha256: a.sha256 });
      assert.equal(await s().firmware.replacePendingArtifact(b), true);
      assert.equal(await s().firmware.getArtifact(org.id, a.id), undefined);
      assert.deepEqual(await s().firmware.getArtifact(org.id, b.id), b);
      assert.equal(await s().firmware.markReady(org.id, b.id, `sha256-${b.sha256}`), true);
      const c = artifactFx(org.id, { sha256: a.sha256 });
      assert.equal(await s().firmware.replacePendingArtifact(c), false);
      assert.equal((await s().firmware.getArtifact(org.id, b.id))?.state, 'ready');
      assert.equal(await s().firmware.getArtifact(org.id, c.id), undefined);
    });

    it('lists newest first with a keyset cursor, scoped to the organization', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const made: FirmwareArtifactRecord[] = [];
      for (let i = 0; i < 5; i++) {
        const a = artifactFx(org.id, { releaseCounter: i });
        await s().firmware.createArtifact(a);
        made.push(a);
      }
      await s().firmware.createArtifact(artifactFx(other.id));
      const ids = made
        .map((a) => a.id)
        .sort()
        .reverse();
      const first = await s().firmware.listArtifacts(org.id, { limit: 3 });
      assert.deepEqual(
        first.map((a) => a.id),
        ids.slice(0, 3),
      );
      const rest = await s().firmware.listArtifacts(org.id, { before: ids[2], limit: 3 });
      assert.deepEqual(
        rest.map((a) => a.id),
        ids.slice(3),
      );
    });

    it('deletes within the organization only, and tracks whether a blob is still used', async () => {
      const org = await seedOrg(s());
      const other = await seedOrg(s());
      const a = artifactFx(org.id);
      const b = artifactFx(other.id, { sha256: a.sha256 });
      await s().firmware.createArtifact(a);
      await s().firmware.createArtifact(b);
      await s().firmware.markReady(org.id, a.id, a.sha256);
      await s().firmware.markReady(other.id, b.id, a.sha256);
      assert.equal(await s().firmware.deleteArtifact(other.id, a.id), false);
      assert.equal(await s().firmware.deleteArtifact(org.id, a.id), true);
      assert.equal(await s().firmware.deleteArtifact(org.id, a.id), false);
      assert.equal(await s().firmware.blobInUse(a.sha256), true);
      assert.equal(await s().firmware.deleteArtifact(other.id, b.id), true);
      assert.equal(await s().firmware.blobInUse(a.sha256), false);
    });
  });
}

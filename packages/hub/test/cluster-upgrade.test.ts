/**
 * Upgrading a cluster whose nodes kept firmware images in their data dirs (decision 0021): at
 * start each node copies its images into the deployment's object store, verified like an upload;
 * a file damaged on disk is reported and not copied, and a second start copies nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chunked, natsTestUrl, readAll, requireNats } from '@bulwark/testkit';
import { createNatsBlobStore, deploymentNames, removeDeployment } from '@bulwark/bus-nats';
import { FsBlobStore } from '../src/blob-store.js';
import { importLocalBlobs } from '../src/cluster.js';

const url = natsTestUrl();
const skip = await requireNats(url);
const prefix = `t${process.pid}-${randomBytes(3).toString('hex')}`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('images kept in a data dir before the cluster stored them in NATS', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-upgrade-'));
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (skip === false) await removeDeployment({ servers: url }, prefix);
  });

  it('are copied into the object store once; a damaged file is refused', async () => {
    const blobs = join(dir, 'blobs');
    const local = new FsBlobStore(blobs);
    const [good, bad] = [randomBytes(300_000), randomBytes(5_000)];
    for (const image of [good, bad])
      await local.put(chunked(image), { length: image.length, sha256: sha(image) });
    const badPath = join(blobs, sha(bad).slice(0, 2), sha(bad));
    const damaged = readFileSync(badPath);
    damaged[10] = (damaged[10] ?? 0) ^ 1;
    writeFileSync(badPath, damaged);

    const store = await createNatsBlobStore({
      servers: url,
      bucket: deploymentNames(prefix).blobsBucket,
    });
    try {
      assert.deepEqual(await importLocalBlobs(blobs, store), {
        copied: [sha(good)],
        refused: [sha(bad)],
      });
      assert.ok((await readAll((await store.get(sha(good)))!)).equals(good));
      assert.equal(await store.stat(sha(bad)), undefined);
      assert.deepEqual(await importLocalBlobs(blobs, store), { copied: [], refused: [sha(bad)] });
    } finally {
      await store.close();
    }
  });
});

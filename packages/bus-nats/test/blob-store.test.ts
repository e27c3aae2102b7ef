/**
 * The BlobStore on JetStream's object store, against the real NATS server: the blob contract,
 * ranges across small chunks, two stores racing on the same content, a tampered object, and a
 * ranged read near the end of an image that fetches only the chunks it needs.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { blobStoreContract, chunked, natsTestUrl, readAll, requireNats } from '@bulwark/testkit';
import { createNatsBlobStore, type NatsBlobStoreOptions } from '@bulwark/bus-nats';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';

const url = natsTestUrl();
const skip = await requireNats(url);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// Unique per run so parallel runs on one server never meet; every bucket is deleted at the end.
const run = `T${process.pid}_${randomBytes(4).toString('hex')}`;
const buckets: string[] = [];
let counter = 0;
function fresh(over: Partial<NatsBlobStoreOptions> = {}): NatsBlobStoreOptions {
  const bucket = `BULWARK_${run}_B${++counter}`;
  buckets.push(bucket);
  return { servers: url, bucket, ...over };
}

after(async () => {
  if (skip !== false || buckets.length === 0) return;
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for (const b of buckets) await jsm.streams.delete(`OBJ_${b}`).catch(() => false);
  } finally {
    await nc.close();
  }
});

describe('BlobStore on the NATS object store', { skip, timeout: 60_000 }, () => {
  blobStoreContract('nats object store', async () => {
    const store = await createNatsBlobStore(fresh());
    return { store, close: () => store.close() };
  });

  it('reads any range across chunk boundaries, and a whole read checks the hash', async () => {
    const store = await createNatsBlobStore(fresh({ chunkBytes: 1000 }));
    try {
      const image = randomBytes(10_500); // 11 chunks, the last one short
      const key = await store.put(chunked(image, 777), {
        length: image.length,
        sha256: sha(image),
      });
      for (const [start, end] of [
        [0, 0],
        [999, 1000],
        [1000, 1999],
        [2500, 7321],
        [10_000, 10_499],
        [10_499, 10_499],
        [0, 10_499],
      ] as const) {
        const got = await readAll((await store.get(key, { start, end }))!);
        assert.ok(got.equals(image.subarray(start, end + 1)), `range ${start}-${end}`);
      }
      assert.ok((await readAll((await store.get(key))!)).equals(image));
      await assert.rejects(store.get(key, { start: 5, end: 10_500 }), {
        code: 'validation_failed',
      });
    } finally {
      await store.close();
    }
  });

  it('a download of an image deleted meanwhile fails clearly; one abandoned early leaves nothing', async () => {
    const store = await createNatsBlobStore(fresh({ chunkBytes: 1000 }));
    try {
      const image = randomBytes(20_000);
      const key = await store.put(chunked(image), { length: image.length, sha256: sha(image) });
      const abandoned = (await store.get(key))![Symbol.asyncIterator]();
      const reading = (await store.get(key))![Symbol.asyncIterator]();
      assert.equal(((await abandoned.next()).value as Uint8Array).byteLength, 1000);
      assert.equal(((await reading.next()).value as Uint8Array).byteLength, 1000);
      assert.equal(await store.delete(key), true);
      await abandoned.return?.(undefined); // its chunk fetched ahead now fails: handled, not thrown
      await assert.rejects(
        (async () => {
          for (let r = await reading.next(); !r.done; r = await reading.next());
        })(),
        (err: Error & { code?: string }) =>
          err.code === 'internal_error' && /deleted while read/.test(err.message),
      );
      await new Promise((r) => setTimeout(r, 400)); // an unhandled rejection would fail the file
    } finally {
      await store.close();
    }
  });

  it('two nodes storing the same new image at once keep one copy, and both succeed', async () => {
    const opts = fresh({ chunkBytes: 4096 });
    const [a, b] = await Promise.all([createNatsBlobStore(opts), createNatsBlobStore(opts)]);
    try {
      const image = randomBytes(200_000);
      const expect = { length: image.length, sha256: sha(image) };
      const keys = await Promise.all([
        a.put(chunked(image, 5000), expect),
        b.put(chunked(image, 7000), expect),
      ]);
      assert.deepEqual(keys, [expect.sha256, expect.sha256]);
      assert.ok((await readAll((await b.get(expect.sha256))!)).equals(image));
      // The loser's chunks were purged: the stream holds one object's chunks and its metadata.
      const nc = await connect({ servers: url });
      try {
        const info = await (await jetstreamManager(nc)).streams.info(a.stream);
        assert.equal(info.state.messages, Math.ceil(image.length / 4096) + 1);
      } finally {
        await nc.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses to serve an object whose digest does not match its name', async () => {
    const opts = fresh();
    const store = await createNatsBlobStore(opts);
    const nc = await connect({ servers: url });
    try {
      const os = await new Objm(nc).open(opts.bucket!);
      const name = sha(Buffer.from('the real image'));
      await os.putBlob({ name }, Buffer.from('something else'));
      await assert.rejects(store.stat(name), { code: 'internal_error' });
      await assert.rejects(store.get(name), { code: 'internal_error' });
    } finally {
      await nc.close();
      await store.close();
    }
  });

  it('a range near the end of a large image fetches only the chunks that hold it', async () => {
    const chunk = 64 * 1024;
    const store = await createNatsBlobStore(fresh({ chunkBytes: chunk }));
    try {
      const image = randomBytes(8 * 1024 * 1024); // 128 chunks
      const key = await store.put(chunked(image), { length: image.length, sha256: sha(image) });
      const tail = { start: image.length - 100_000, end: image.length - 1 }; // in the last 2 chunks
      const received = async (range?: { start: number; end: number }) => {
        const before = store.received();
        const got = await readAll((await store.get(key, range))!);
        return { bytes: store.received() - before, got };
      };
      const first = await received(tail); // also builds this node's chunk index (headers only)
      assert.ok(first.got.equals(image.subarray(tail.start)));
      assert.ok(first.bytes < 3 * chunk + 64 * 1024, `first ranged read took ${first.bytes} bytes`);
      const again = await received(tail);
      assert.ok(again.got.equals(image.subarray(tail.start)));
      assert.ok(again.bytes < 2 * chunk + 8 * 1024, `ranged read took ${again.bytes} bytes`);
      const whole = await received();
      assert.ok(whole.got.equals(image));
      assert.ok(whole.bytes >= image.length);
    } finally {
      await store.close();
    }
  });
});
